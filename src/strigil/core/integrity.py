"""A canonical serialisation of a record and its SHA-256 digest.

Why canonical: the same content must always give the same bytes (keys sorted, no spaces,
UTF-8, no floats' platform formatting surprises), so a digest stored at signing can be
recomputed years later, on another database, and still match unless the content changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical", "digest"]


def canonical(content: Any) -> bytes:
    """Sorted-key, compact, UTF-8 JSON; only JSON types are accepted (TypeError otherwise)."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(content: Any) -> str:
    """Hex SHA-256 of the canonical form."""
    return hashlib.sha256(canonical(content)).hexdigest()
