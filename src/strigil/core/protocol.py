"""Rules of the guided IASTM visit: intensity, discomfort, stopping, time, skin, angle, phases.

Why: the treatment is dosed by the patient's response. Start light, because the most common
error is excessive pressure causing bruising (S19); stop an area when discomfort reaches the
limit agreed at the start or the patient asks (C3, §4.2); petechiae mean that area has had
enough for the visit (S6); do not treat the same area again within 48 h or over a bruise (S17,
S5, §4.3); keep time per area and lesion within practice ranges (S7, S17). Limits come from
``catalog.thresholds()`` so a clinic can configure them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from strigil.core import catalog
from strigil.core.catalog import Phase, Thresholds
from strigil.errors import Conflict, InvalidInput

__all__ = [
    "Intensity",
    "SkinGrade",
    "StopReason",
    "angle_warnings",
    "check_first_intensity",
    "discomfort_warning",
    "ends_area",
    "evaluate_discomfort",
    "next_phase",
    "parse_intensity",
    "parse_skin_grade",
    "require_stop_reason",
    "retreatment_warnings",
    "time_warnings",
    "validate_phase_transition",
    "visit_time_warnings",
]

_NRS_MAX = 10


class Intensity(StrEnum):
    """Treatment intensity, ordered gentle < moderate < vigorous."""

    GENTLE = "gentle"
    MODERATE = "moderate"
    VIGOROUS = "vigorous"

    @property
    def rank(self) -> int:
        """0 for gentle, 1 for moderate, 2 for vigorous."""
        return list(Intensity).index(self)

    def __lt__(self, other: str) -> bool:
        return self.rank < Intensity(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Intensity(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Intensity(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Intensity(other).rank


class StopReason(StrEnum):
    """Why treatment of an area ended."""

    TOLERANCE_REACHED = "tolerance_reached"
    PATIENT_REQUEST = "patient_request"
    PETECHIAE = "petechiae"
    ECCHYMOSIS = "ecchymosis"
    TIME_LIMIT = "time_limit"
    ADVERSE_SIGN = "adverse_sign"
    COMPLETED = "completed"
    OTHER = "other"


class SkinGrade(StrEnum):
    """Skin response at the end of an area: 0 none, 1 erythema, 2 petechiae, 3 ecchymosis.

    No validated grading scale exists; this is the proposed encoding of §4.2 (GK design).
    """

    NONE = "none"
    ERYTHEMA = "erythema"
    PETECHIAE = "petechiae"
    ECCHYMOSIS = "ecchymosis"

    @property
    def score(self) -> int:
        """The 0-3 grade."""
        return list(SkinGrade).index(self)


def _enum_value(enum: type[StrEnum], value: object, field: str) -> str:
    """Validate ``value`` as a member of ``enum``; InvalidInput names the field and choices."""
    choices = [m.value for m in enum]
    if isinstance(value, str) and value in choices:
        return value
    raise InvalidInput(
        f"{field} must be one of: {', '.join(choices)}", code=f"unknown_{field}", field=field
    )


def parse_intensity(value: object) -> Intensity:
    """An Intensity from user input; InvalidInput(field="intensity") otherwise."""
    return Intensity(_enum_value(Intensity, value, "intensity"))


def parse_skin_grade(value: object) -> SkinGrade:
    """A SkinGrade from user input; InvalidInput(field="skin_grade") otherwise."""
    return SkinGrade(_enum_value(SkinGrade, value, "skin_grade"))


def check_first_intensity(intensity: Intensity | str, is_first_treat_entry: bool) -> Intensity:
    """Refuse a vigorous start: the first treat entry of a visit must start gently (S19)."""
    level = parse_intensity(intensity)
    if is_first_treat_entry and level is Intensity.VIGOROUS:
        raise InvalidInput(
            "start gently: the first treatment of the visit cannot be vigorous",
            code="start_gently",
            field="intensity",
        )
    return level


def _nrs(value: object, field: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _NRS_MAX:
        raise InvalidInput(
            f"{field} must be a whole number from {low} to {_NRS_MAX}",
            code="invalid_nrs",
            field=field,
        )
    return value


def evaluate_discomfort(value: int, tolerance: int) -> StopReason | None:
    """TOLERANCE_REACHED when a 0-10 discomfort reading reaches the agreed limit, else None."""
    reading = _nrs(value, "value")
    limit = _nrs(tolerance, "tolerance", low=1)
    return StopReason.TOLERANCE_REACHED if reading >= limit else None


def discomfort_warning(value: int, tolerance: int, thresholds: Thresholds) -> str | None:
    """A warning when a reading is at the warning level but still below the limit."""
    reading, limit = _nrs(value, "value"), _nrs(tolerance, "tolerance", low=1)
    if thresholds.tolerance_warning <= reading < limit:
        return f"discomfort {reading}/10 is close to the agreed limit of {limit}/10"
    return None


def require_stop_reason(reason: StopReason | str | None, note: str | None = None) -> StopReason:
    """The reason an area stopped; ``other`` must be explained in ``note``."""
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        raise InvalidInput(
            "record why treatment of this area stopped",
            code="stop_reason_required",
            field="stop_reason",
        )
    parsed = StopReason(_enum_value(StopReason, reason, "stop_reason"))
    if parsed is StopReason.OTHER and not (note or "").strip():
        raise InvalidInput(
            "describe the reason when it is 'other'", code="stop_note_required", field="stop_note"
        )
    return parsed


def ends_area(grade: SkinGrade | str) -> bool:
    """Petechiae or ecchymosis end the area for this visit (S6, S5)."""
    return parse_skin_grade(grade).score >= SkinGrade.PETECHIAE.score


def skin_stop_reason(grade: SkinGrade | str) -> StopReason:
    """The stop reason a skin response that ends the area records: a bruise is a bruise."""
    parsed = parse_skin_grade(grade)
    if not ends_area(parsed):
        raise ValueError(f"{parsed.value} does not end an area")
    return StopReason.ECCHYMOSIS if parsed is SkinGrade.ECCHYMOSIS else StopReason.PETECHIAE


def _seconds(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            f"{field} must be a whole number of seconds, 0 or more",
            code="invalid_seconds",
            field=field,
        )
    return value


def time_warnings(seconds: int, thresholds: Thresholds) -> list[str]:
    """Warnings for time spent on one area (per-area limit) or lesion (S7, S17)."""
    spent = _seconds(seconds, "seconds")
    warnings: list[str] = []
    if spent > thresholds.per_area_seconds_max:
        warnings.append(
            f"{spent} s on this area exceeds the per-area limit of "
            f"{thresholds.per_area_seconds_max} s"
        )
    if spent > thresholds.lesion_seconds_warning:
        warnings.append(
            f"{spent} s exceeds {thresholds.lesion_seconds_warning} s, the most clinicians "
            "report spending on one lesion"
        )
    return warnings


def visit_time_warnings(total_seconds: int, thresholds: Thresholds) -> list[str]:
    """A warning when the visit's total IASTM time passes the configured limit (S7)."""
    spent = _seconds(total_seconds, "total_seconds")
    limit = thresholds.visit_total_minutes_warning
    if spent > limit * 60:
        return [f"total IASTM time {spent / 60:.1f} min exceeds the visit limit of {limit} min"]
    return []


def retreatment_warnings(
    last_treated_at: datetime | None,
    now: datetime,
    unresolved_bruising: bool,
    thresholds: Thresholds,
) -> list[str]:
    """Warnings before treating an area again: too soon, or over an unresolved bruise (§4.3)."""
    warnings: list[str] = []
    if last_treated_at is not None:
        if (last_treated_at.tzinfo is None) != (now.tzinfo is None):
            raise InvalidInput(
                "times must both carry a time zone or both not",
                code="naive_aware_mix",
                field="last_treated_at",
            )
        hours = (now - last_treated_at).total_seconds() / 3600
        if hours < 0:
            raise InvalidInput(
                "last treatment is in the future", code="in_future", field="last_treated_at"
            )
        if hours < thresholds.retreat_min_hours:
            warnings.append(
                f"this area was treated {hours:.0f} h ago; wait at least "
                f"{thresholds.retreat_min_hours} h between treatments"
            )
    if unresolved_bruising:
        warnings.append("bruising (ecchymosis) in this area has not resolved; do not treat over it")
    return warnings


def angle_warnings(angle: int, thresholds: Thresholds, stroke_code: str | None = None) -> list[str]:
    """Validate a tool-to-skin angle and warn when it is outside the usual range (§3.2).

    Angles outside 0 to the focal maximum are refused; inside it, an angle outside the chosen
    stroke's range (or the typical range when no stroke is given) draws a warning.
    """
    top = thresholds.angle_focal_max_degrees
    if isinstance(angle, bool) or not isinstance(angle, int) or not 0 < angle <= top:
        raise InvalidInput(
            f"angle must be a whole number of degrees from 1 to {top}",
            code="invalid_angle",
            field="angle",
        )
    if stroke_code is not None:
        s = catalog.stroke(stroke_code)
        low, high, what = s.angle_min, s.angle_max, f"the {s.name.lower()} stroke"
    else:
        low, high, what = thresholds.angle_min_degrees, thresholds.angle_max_degrees, "IASTM"
    if low <= angle <= high:
        return []
    return [f"{angle}° is outside the usual {low}-{high}° for {what}"]


def next_phase(current: str | None) -> Phase | None:
    """The phase after ``current`` (the first phase when None); None after the last."""
    phases = catalog.protocol_phases()
    if current is None:
        return phases[0]
    order = catalog.phase(current).order
    return next((p for p in phases if p.order > order), None)


def validate_phase_transition(current: str | None, target: str) -> Phase:
    """Allow moving forward past optional phases only, or from treat back to explore.

    Treat → explore starts the next area. Skipping a required phase or going back otherwise
    raises Conflict(field="phase", code="phase_out_of_order").
    """
    to = catalog.phase(target)
    if current is not None and catalog.phase(current).code == "treat" and to.code == "explore":
        return to
    phases = catalog.protocol_phases()
    start = 0 if current is None else catalog.phase(current).order
    between = [p for p in phases if start < p.order < to.order]
    if to.order > start and all(p.optional for p in between):
        return to
    expected = next((p.code for p in phases if p.order > start and not p.optional), None)
    raise Conflict(
        f"cannot move from {current or 'the start'} to {target}; next required phase is "
        f"{expected or 'none (the visit is complete)'}",
        code="phase_out_of_order",
        field="phase",
    )
