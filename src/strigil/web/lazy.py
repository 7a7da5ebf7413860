"""Import heavy modules on first use, not at start-up.

The statistics behind the evidence pages and commands (scipy, statsmodels, matplotlib) add
about 130 MB and a few seconds to a server or a command that may never use them; loading them
when first needed keeps the server small and every other command quick.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Deferred(ModuleType):
    """Stands in for a module and imports it when an attribute is first read."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


def lazy(name: str) -> ModuleType:
    """A stand-in for module ``name`` (nothing is imported, not even its parent package)."""
    return _Deferred(name)
