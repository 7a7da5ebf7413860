"""The recorded facts of a visit as the note drafter takes them, and the draft it returns.

Plain frozen dataclasses: the services fill them from the rows; ``core.notes`` turns them into
claims. ``ref`` fields carry the public id of the row each fact comes from, so every claim of
the draft can name its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

__all__ = [
    "AdverseEventFact",
    "Claim",
    "FindingFact",
    "IntendedDose",
    "MeasuredDose",
    "PrePostResult",
    "PrecautionFact",
    "PrescribedExercise",
    "SoapDraft",
    "TreatedArea",
    "VisitFacts",
    "treating_phase",
]


@dataclass(frozen=True)
class PrePostResult:
    """A pre/post test; ``higher_is_better`` None when the direction is not known."""

    name: str
    pre: float | None
    post: float | None
    unit: str = ""
    higher_is_better: bool | None = None
    ref: str = ""


@dataclass(frozen=True)
class FindingFact:
    """A restriction found on the body chart; ``area_ref`` names the area that treated it."""

    ref: str
    site: str
    side: str | None
    texture: str
    severity: int
    area_ref: str | None = None


@dataclass(frozen=True)
class MeasuredDose:
    """The dose an instrumented tool measured on an area (one recording), and its force cap."""

    strokes: int
    mean_force_n: float | None
    peak_force_n: float | None
    time_under_load_s: float
    force_cap_n: float | None = None
    cap_exceeded: bool = False
    ref: str = ""
    phase: str = "treating"  # or "exploring": a light pass to find the restriction


def treating_phase(doses: Sequence[MeasuredDose]) -> MeasuredDose | None:
    """The treating recordings of an area as one dose (None when there is none).

    The intended dose is the treatment the area should receive, so an exploring pass is not
    held against it, and a treatment recorded in several files counts as a whole: strokes and
    time under load add up, the mean force is time-weighted (impulse over time under load, as
    for one recording), the peak is the largest.
    """
    treating = [d for d in doses if d.phase == "treating"]
    if not treating:
        return None
    if len(treating) == 1:
        return treating[0]
    loaded = [d for d in treating if d.mean_force_n is not None]
    time = sum(d.time_under_load_s for d in loaded)
    impulse = sum((d.mean_force_n or 0.0) * d.time_under_load_s for d in loaded)
    peaks = [d.peak_force_n for d in treating if d.peak_force_n is not None]
    return MeasuredDose(
        strokes=sum(d.strokes for d in treating),
        mean_force_n=impulse / time if time > 0 else None,
        peak_force_n=max(peaks) if peaks else None,
        time_under_load_s=sum(d.time_under_load_s for d in treating),
    )


@dataclass(frozen=True)
class IntendedDose:
    """The dose the therapist set out to give an area (any part may be absent)."""

    force_min_n: float | None = None
    force_max_n: float | None = None
    strokes: int | None = None
    time_under_load_s: float | None = None
    ref: str = ""

    def describe(self) -> str:
        """'intended 4–7 N, 30 strokes, 20 s under load'."""
        low, high = self.force_min_n, self.force_max_n
        parts = []
        if low is not None and high is not None:
            parts.append(f"{low:g}–{high:g} N")
        elif low is not None:
            parts.append(f"at least {low:g} N")
        elif high is not None:
            parts.append(f"at most {high:g} N")
        if self.strokes is not None:
            parts.append(f"{self.strokes} stroke{'' if self.strokes == 1 else 's'}")
        if self.time_under_load_s is not None:
            parts.append(f"{self.time_under_load_s:g} s under load")
        return "intended " + ", ".join(parts)

    def deviations(self, dose: MeasuredDose) -> list[str]:
        """How the measured dose differs from the intended one (empty when it does not).

        No tolerance is invented (the therapist reads "42 strokes against 30" and judges), but
        the measured figures are compared as they are shown — mean force to 0.1 N, time to the
        second — so the words never contradict the numbers beside them.
        """
        out = []
        mean = None if dose.mean_force_n is None else round(dose.mean_force_n, 1)
        if mean is not None and self.force_min_n is not None and mean < self.force_min_n:
            out.append("mean force below the intended range")
        if mean is not None and self.force_max_n is not None and mean > self.force_max_n:
            out.append("mean force above the intended range")
        for name, measured, intended in (
            ("stroke count", dose.strokes, self.strokes),
            ("time under load", round(dose.time_under_load_s), self.time_under_load_s),
        ):
            if intended is not None and measured > intended:
                out.append(f"above the intended {name}")
            elif intended is not None and measured < intended:
                out.append(f"below the intended {name}")
        return out

    def compare(self, dose: MeasuredDose, measured_as: str = "measured") -> str:
        """'intended 4–7 N, 30 strokes; measured mean 5.8 N, 42 strokes: above the intended
        stroke count' (or '...: as intended'); ``measured_as`` may say how it was measured."""
        measured = []
        if self.force_min_n is not None or self.force_max_n is not None:
            mean = dose.mean_force_n
            measured.append(
                "no force above the threshold" if mean is None else f"mean {mean:.1f} N"
            )
        if self.strokes is not None:
            measured.append(f"{dose.strokes} stroke{'' if dose.strokes == 1 else 's'}")
        if self.time_under_load_s is not None:
            measured.append(f"{dose.time_under_load_s:.0f} s under load")
        verdict = "; ".join(self.deviations(dose)) or "as intended"
        return f"{self.describe()}; {measured_as} {', '.join(measured)}: {verdict}"


@dataclass(frozen=True)
class TreatedArea:
    """What was done to one area; region/site/strokes may be catalogue codes or free text."""

    region: str
    site: str
    side: str | None = None
    instrument: str = ""
    strokes: tuple[str, ...] = ()
    angle_degrees: int | None = None
    intensity: str | None = None
    seconds: int = 0
    readings: tuple[int, ...] = ()
    asked_to_stop: bool = False
    tolerance: int | None = None
    stop_reason: str | None = None
    stop_note: str = ""
    skin_grade: str | None = None
    ref: str = ""
    measured: tuple[MeasuredDose, ...] = ()  # recordings from an instrumented tool
    intended: IntendedDose | None = None


@dataclass(frozen=True)
class PrescribedExercise:
    """An after-care exercise as prescribed (code or name, with the dose actually given)."""

    exercise: str
    sets: int | None = None
    reps: int | None = None
    hold_seconds: int | None = None
    frequency: str = ""
    ref: str = ""


@dataclass(frozen=True)
class PrecautionFact:
    """A precaution screening forced: the therapist's reasoning and dose modification."""

    ref: str
    reasoning: str
    dose_modification: str
    precautions: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdverseEventFact:
    """An adverse event filed against this visit."""

    ref: str
    category: str
    severity: str
    description: str


@dataclass(frozen=True)
class VisitFacts:
    """The recorded facts of one visit, as the note needs them."""

    patient_display_name: str
    visit_date: date
    visit_number: int
    condition_title: str
    subjective: str = ""
    tests: tuple[PrePostResult, ...] = ()
    findings: tuple[FindingFact, ...] = ()
    areas: tuple[TreatedArea, ...] = ()
    precautions: tuple[PrecautionFact, ...] = ()
    adverse_events: tuple[AdverseEventFact, ...] = ()
    exercises: tuple[PrescribedExercise, ...] = ()
    plan: str = ""
    next_visit: date | None = None
    functional_goal: str = ""
    performed_by: str = ""
    assisted_by: tuple[str, ...] = ()
    timed_minutes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Claim:
    """One sentence of the draft and the recorded fact it states (``kind:ref``)."""

    text: str
    source: str


@dataclass(frozen=True)
class SoapDraft:
    """The four sections of the draft note, each a run of claims."""

    subjective: str
    objective: str
    assessment: str
    plan: str
    claims: tuple[tuple[str, Claim], ...] = ()

    def as_text(self) -> str:
        """The whole draft with section headings."""
        return "\n\n".join(
            f"{h}:\n{t}"
            for h, t in (
                ("Subjective", self.subjective),
                ("Objective", self.objective),
                ("Assessment", self.assessment),
                ("Plan", self.plan),
            )
        )
