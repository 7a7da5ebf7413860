"""Validation of the numbers handed to the evidence engine.

Every public function of :mod:`strigil.evidence` funnels its arrays through these checks so that
bad input fails early with a message naming the problem, instead of producing a silently wrong
pooled estimate (a NaN that propagates, a negative variance that flips a weight).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from strigil.errors import InvalidInput

FloatArray = NDArray[np.float64]


class EvidenceInputError(InvalidInput, ValueError):
    """Bad input to the evidence engine.

    It is a :class:`ValueError` (what numerical callers expect) and an
    :class:`strigil.errors.InvalidInput` (what the web and CLI adapters map to a 422 / exit 2).
    """


def as_vector(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a 1-D float array; reject NaN, infinities and non-numbers."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EvidenceInputError(f"{name} must be numeric", field=name) from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise EvidenceInputError(f"{name} must be one-dimensional", field=name)
    if not np.isfinite(arr).all():
        if np.isnan(arr).any():
            raise EvidenceInputError(f"{name} contains NaN", field=name)
        raise EvidenceInputError(f"{name} contains a non-finite value", field=name)
    return arr


def same_length(**arrays: FloatArray) -> int:
    """Check that all arrays have one common length and return it."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise EvidenceInputError(f"lengths differ: {detail}")
    return next(iter(lengths.values()))


def check_variances(vi: FloatArray, name: str = "vi") -> None:
    """Sampling variances must be finite and strictly positive (weights are ``1/vi``)."""
    if vi.min(initial=np.inf) <= 0:
        bad = int(np.flatnonzero(vi <= 0)[0])
        raise EvidenceInputError(
            f"{name}[{bad}] = {float(vi[bad])!r}: a sampling variance must be positive "
            "(its weight 1/vi would be infinite or negative)",
            field=name,
        )


def check_positive(arr: FloatArray, name: str) -> None:
    """Sample sizes and standard deviations must be positive."""
    if (arr <= 0).any():
        raise EvidenceInputError(f"{name} must be positive", field=name)


def check_level(level: float) -> None:
    """Confidence level strictly between 0 and 1."""
    if not (0.0 < level < 1.0) or not np.isfinite(level):
        raise EvidenceInputError(f"level must be in (0, 1), got {level!r}", field="level")
