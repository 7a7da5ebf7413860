"""A force trace on an even time grid, as FHIR SampledData needs it (period, factor, data).

SampledData has one period, so an irregular recording is put on a grid at its median sample
interval by linear interpolation between valid samples; grid points inside a gap longer than
the stroke-splitting limit (0.05 s) are "E" (no value), never invented.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from strigil.sensors.strokes import MAX_GAP_S

__all__ = ["sampled_data"]

FloatArray = npt.NDArray[np.float64]


def sampled_data(
    t_s: FloatArray, fz_n: FloatArray, factor: float = 0.01, max_gap_s: float = MAX_GAP_S
) -> tuple[float, str]:
    """The trace's period in milliseconds and its data string ("E" for no value).

    Values are integers in units of ``factor`` newtons (10 mN by default), well below the
    noise of hand-held load cells, so the text stays short.
    """
    valid = ~np.isnan(fz_n)
    tv, fv = t_s[valid], fz_n[valid]
    if tv.size < 2:
        return 1.0, " ".join("E" if np.isnan(v) else str(round(v / factor)) for v in fz_n[:1])
    period = float(np.median(np.diff(tv)))
    grid = t_s[0] + period * np.arange(int(np.floor((t_s[-1] - t_s[0]) / period + 1e-9)) + 1)
    values = np.interp(grid, tv, fv)
    right = np.clip(np.searchsorted(tv, grid, side="left"), 1, tv.size - 1)
    bridged = tv[right] - tv[right - 1] <= max_gap_s + 1e-12
    inside = (grid >= tv[0]) & (grid <= tv[-1])
    ok = bridged & inside
    scaled = np.rint(values / factor).astype(np.int64)
    cells = np.where(ok, scaled.astype(str), "E")
    return period * 1000.0, " ".join(cells.tolist())
