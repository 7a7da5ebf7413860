"""Import heavy modules on first use, not at start-up.

The statistics behind the evidence pages (scipy, statsmodels, matplotlib) add about 130 MB
and several seconds to a server that may never show those pages; loading them when a page
first needs them keeps the resident size of a clinic's server small.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy(name: str) -> ModuleType:
    """A module object that executes its code when an attribute is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
