"""The force a precaution's intensity cap allows when the tool measures force.

Screening caps intensity in words (gentle, moderate); an instrumented tool measures newtons.
The packaged mapping (force_caps.json, with its rationale and sources) is a default a
deployment may override; no study defines the intensity levels in newtons.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

from strigil.errors import InvalidInput
from strigil.sensors.recording import MAX_ABS_FORCE_N

__all__ = ["force_cap_for", "force_caps"]


@cache
def _packaged() -> dict[str, float]:
    text = resources.files("strigil.sensors").joinpath("force_caps.json").read_text("utf-8")
    return {level: float(cap["peak_n"]) for level, cap in json.loads(text)["caps"].items()}


def force_caps(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Peak-force cap per intensity level; overrides are checked (level known, 0 < N <= 500)."""
    caps = dict(_packaged())
    for level, value in (overrides or {}).items():
        if level not in caps:
            raise InvalidInput(
                f"no force cap for intensity '{level}'; levels are {', '.join(caps)}",
                field="force_caps",
            )
        if not 0 < value <= MAX_ABS_FORCE_N:
            raise InvalidInput(
                f"force cap for '{level}' must be above 0 and at most {MAX_ABS_FORCE_N:g} N",
                field="force_caps",
            )
        caps[level] = float(value)
    return caps


def force_cap_for(intensity: str | None, caps: Mapping[str, float]) -> float | None:
    """The peak-force cap an intensity cap implies (None: no cap, or 'vigorous')."""
    return caps.get(intensity) if intensity is not None else None
