"""Safety rules that hold at every step of a visit: where, on which side, and how much.

Why: screening at the door is not enough. A rule must still hold on the third area of the
visit, on the other leg, and at the tenth timer tick:

* sides: a paired site is treated left, right or bilaterally, an unpaired one on the midline,
  and a block names a region on one side (``"knee:left"``) or on both (``"knee"``);
* extent: a rule blocks the area, the limb on the affected side (a clot in the calf closes
  the whole leg), or the whole patient (clinical-domain notes, section 2, rule A3);
* stop means stop: discomfort at the agreed limit, the patient's request, an adverse sign or
  a skin response of petechiae or worse closes that site and side for the rest of the visit
  (S6, S5, C3);
* caps: precautions limit intensity and time per area; the strictest cap applies;
* the other side: treating the side opposite the episode's is confirmed, not assumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from strigil.core import catalog
from strigil.core.catalog import BodySite, DoseCap, Extent, ScreeningRule
from strigil.core.protocol import Intensity, SkinGrade, StopReason
from strigil.errors import InvalidInput

__all__ = [
    "CLOSING_REASONS",
    "SIDES",
    "Caps",
    "block_keys",
    "blocking_reasons",
    "check_dose",
    "check_other_side",
    "check_side",
    "check_site_open",
    "closes_site",
    "combine_caps",
    "merge_caps",
    "parse_cap",
    "parse_region_key",
    "sides_overlap",
]

SIDES = ("left", "right", "bilateral", "midline")
_REGION_SIDES = ("left", "right")
_MAX_SECONDS = 3600
CLOSING_REASONS = frozenset(
    {
        StopReason.TOLERANCE_REACHED,
        StopReason.PATIENT_REQUEST,
        StopReason.PETECHIAE,
        StopReason.ECCHYMOSIS,
        StopReason.ADVERSE_SIGN,
    }
)


# ---------------------------------------------------------------------------------------------
# sides and regions


def check_side(site: BodySite, side: object) -> str:
    """The side of a treated area: left/right/bilateral for paired sites, midline otherwise."""
    if not isinstance(side, str) or side not in SIDES:
        raise InvalidInput(f"side must be one of {', '.join(SIDES)}", field="side", code="side")
    if not site.paired and side != "midline":
        raise InvalidInput(
            f"{site.label} is not a paired site: its side is midline, not {side}",
            field="side",
            code="side_for_unpaired_site",
        )
    if site.paired and side == "midline":
        raise InvalidInput(
            f"{site.label} is a paired site: choose left, right or bilateral",
            field="side",
            code="side_required",
        )
    return side


def parse_region_key(key: object, field: str) -> tuple[str, str | None]:
    """``"knee"`` (both sides) or ``"knee:left"``; unknown regions and sides name ``field``."""
    if not isinstance(key, str):
        raise InvalidInput("a region must be text", field=field, code="unknown_body_region")
    region, _, side = key.partition(":")
    if region not in {r.code for r in catalog.body_regions()}:
        raise InvalidInput(
            f"unknown body region {region!r}", field=field, code="unknown_body_region"
        )
    if side and side not in _REGION_SIDES:
        raise InvalidInput(
            f"the side of region {region} must be left or right, not {side!r}",
            field=field,
            code="unknown_side",
        )
    return region, side or None


def _key(region: str, side: str | None) -> str:
    return region if side is None else f"{region}:{side}"


def block_keys(rule: ScreeningRule, regions: Iterable[str]) -> tuple[str, ...]:
    """The region keys a local rule blocks: the regions named, or their whole limb."""
    keys: list[str] = []
    by_code = {r.code: r for r in catalog.body_regions()}
    for raw in regions:
        region, side = parse_region_key(raw, f"answers.{rule.id}.regions")
        limb = by_code[region].limb
        if rule.extent is Extent.LIMB and limb != "trunk":
            keys += [_key(r.code, side) for r in by_code.values() if r.limb == limb]
        else:
            keys.append(_key(region, side))
    return tuple(dict.fromkeys(keys))


def blocking_reasons(
    blocked: Mapping[str, Sequence[str]], region: str, side: str
) -> tuple[str, ...]:
    """Why ``region`` on ``side`` may not be treated (empty when it may)."""
    touched = ("left", "right") if side in ("bilateral", "midline") else (side,)
    keys = [region, *(f"{region}:{s}" for s in touched)]
    return tuple(dict.fromkeys(r for k in keys for r in blocked.get(k, ())))


def sides_overlap(first: str, second: str) -> bool:
    """Whether two areas of the same site touch the same skin (bilateral touches both)."""
    return first == second or "bilateral" in (first, second)


# ---------------------------------------------------------------------------------------------
# stop means stop


def closes_site(stop_reason: str | None, skin_grade: str | None) -> bool:
    """Whether an area's ending closes its site and side for the rest of the visit."""
    if stop_reason in CLOSING_REASONS:
        return True
    return skin_grade is not None and SkinGrade(skin_grade).score >= SkinGrade.PETECHIAE.score


def check_site_open(closed: Iterable[tuple[str, str, str]], site: BodySite, side: str) -> None:
    """Refuse a site and side closed earlier in the visit; ``closed`` is (site, side, why)."""
    for code, closed_side, why in closed:
        if code == site.code and sides_overlap(closed_side, side):
            raise InvalidInput(
                f"Treatment of the {site.label.lower()} ({closed_side}) was stopped earlier in "
                f"this visit ({why.replace('_', ' ')}); that site and side stay closed for the "
                "rest of the visit",
                field="body_site",
                code="site_closed",
            )


# ---------------------------------------------------------------------------------------------
# dose caps


@dataclass(frozen=True)
class Caps:
    """The strictest intensity and per-area seconds the precautions allow, and why."""

    intensity: str | None = None
    seconds: int | None = None
    reasons: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        """Whether any cap applies."""
        return self.intensity is not None or self.seconds is not None

    def describe(self) -> str:
        """Plain words for the page: 'at most gentle, 60 s per area'."""
        parts = [f"at most {self.intensity}"] if self.intensity else []
        parts += [f"{self.seconds} s per area"] if self.seconds is not None else []
        return ", ".join(parts)


def parse_cap(intensity: object, seconds: object, *, prefix: str = "cap") -> DoseCap:
    """A cap from input or the catalogue; a value off the scale names its field."""
    if intensity is not None and intensity not in [i.value for i in Intensity]:
        raise InvalidInput(
            f"{prefix} intensity must be one of {', '.join(i.value for i in Intensity)}",
            field=f"{prefix}_intensity",
            code="cap_off_scale",
        )
    bad = isinstance(seconds, bool) or not isinstance(seconds, int)
    if seconds is not None and (bad or not 1 <= seconds <= _MAX_SECONDS):  # type: ignore[operator]
        raise InvalidInput(
            f"{prefix} seconds must be a whole number from 1 to {_MAX_SECONDS}",
            field=f"{prefix}_seconds",
            code="cap_off_scale",
        )
    return DoseCap(intensity, seconds)  # type: ignore[arg-type]


def combine_caps(caps: Iterable[tuple[str, DoseCap]]) -> Caps:
    """The strictest of several (reason, cap) pairs."""
    intensity: str | None = None
    seconds: int | None = None
    reasons: list[str] = []
    for reason, cap in caps:
        if cap.intensity and (intensity is None or Intensity(cap.intensity) < intensity):
            intensity = cap.intensity
        if cap.seconds is not None:
            seconds = cap.seconds if seconds is None else min(seconds, cap.seconds)
        reasons.append(reason)
    return Caps(intensity, seconds, tuple(dict.fromkeys(reasons)))


def merge_caps(all_caps: Iterable[Caps]) -> Caps:
    """The strictest of several screenings' caps, keeping every reason."""
    given = [c for c in all_caps if c.any]
    combined = combine_caps(("", DoseCap(c.intensity, c.seconds)) for c in given)
    reasons = tuple(dict.fromkeys(r for c in given for r in c.reasons))
    return Caps(combined.intensity, combined.seconds, reasons)


def check_dose(caps: Caps, intensity: str | None, seconds: int | None) -> None:
    """Refuse an intensity or a time per area above the cap, naming the precautions."""
    why = "; ".join(caps.reasons)
    if intensity is not None and caps.intensity and Intensity(intensity) > caps.intensity:
        raise InvalidInput(
            f"{intensity} is above the cap of {caps.intensity} set by precautions ({why})",
            field="intensity",
            code="dose_above_cap",
        )
    if seconds is not None and caps.seconds is not None and seconds > caps.seconds:
        raise InvalidInput(
            f"{seconds} s is above the cap of {caps.seconds} s per area set by precautions ({why})",
            field="seconds",
            code="dose_above_cap",
        )


# ---------------------------------------------------------------------------------------------
# the other side


def check_other_side(episode_side: str, side: str, *, confirmed: bool) -> str | None:
    """Treating the side opposite the episode's needs confirmation; returns the record line."""
    if episode_side not in _REGION_SIDES or side not in _REGION_SIDES or side == episode_side:
        return None
    if not confirmed:
        raise InvalidInput(
            f"this episode is for the {episode_side} side; confirm that the {side} side is "
            "to be treated",
            field="confirm_other_side",
            code="other_side_unconfirmed",
        )
    return f"{side} side treated in a {episode_side}-side episode (confirmed by the therapist)"
