"""Draft a SOAP note from the recorded facts of a visit.

Why: the therapist signs a note after every visit (C3), and payers look for the elements that
show a skilled service: regions and tissues treated, instrument, stroke types, minutes, the
functional goal, the objective response and the plan (S28, docs/sources.md). Drafting
from the recorded facts saves typing and keeps the note consistent with the record.

The draft states only what the facts say: a missing fact is either left out or reported as
not recorded, never guessed. Codes from the catalogue (sites, regions, strokes, exercises) are
shown with their labels; any other text is shown as given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from strigil.core import catalog
from strigil.errors import InvalidInput

__all__ = [
    "PrescribedExercise",
    "SoapDraft",
    "PrePostResult",
    "TreatedArea",
    "VisitFacts",
    "draft_soap",
]


@dataclass(frozen=True)
class PrePostResult:
    """A pre/post test; ``higher_is_better`` None when the direction is not known."""

    name: str
    pre: float | None
    post: float | None
    unit: str = ""
    higher_is_better: bool | None = None


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
    max_discomfort: int | None = None
    tolerance: int | None = None
    stop_reason: str | None = None
    stop_note: str = ""
    skin_grade: str | None = None
    findings_count: int = 0
    findings_texture: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrescribedExercise:
    """An after-care exercise as prescribed (code or name, with the dose actually given)."""

    exercise: str
    sets: int | None = None
    reps: int | None = None
    hold_seconds: int | None = None
    frequency: str = ""


@dataclass(frozen=True)
class VisitFacts:
    """The recorded facts of one visit, as the note needs them."""

    patient_display_name: str
    visit_date: date
    visit_number: int
    condition_title: str
    subjective: str = ""
    tests: tuple[PrePostResult, ...] = ()
    areas: tuple[TreatedArea, ...] = ()
    adverse_events: tuple[str, ...] = ()
    exercises: tuple[PrescribedExercise, ...] = ()
    plan: str = ""
    next_visit: date | None = None
    functional_goal: str = ""
    clinical_reasoning: str = ""
    dose_modification: str = ""


@dataclass(frozen=True)
class SoapDraft:
    """The four sections of the draft note."""

    subjective: str
    objective: str
    assessment: str
    plan: str

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


_STOP_TEXT = {
    "tolerance_reached": "discomfort reached the agreed limit",
    "patient_request": "the patient asked to stop",
    "petechiae": "petechiae appeared (endpoint for this area)",
    "time_limit": "the time limit for the area was reached",
    "adverse_sign": "an adverse sign was observed",
    "completed": "treatment of the area was completed",
}


def _label(lookup: Callable[[str], object], value: str, attr: str) -> str:
    """The catalogue label for a code, or the text itself when it is not a code."""
    try:
        return str(getattr(lookup(value), attr))
    except InvalidInput:
        return value


def _join(items: Iterable[str]) -> str:
    parts = [p for p in items if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _number(value: float) -> str:
    return f"{value:g}"


def _validate(facts: VisitFacts) -> None:
    if not facts.patient_display_name.strip():
        raise InvalidInput("patient name is missing", code="required", field="patient_display_name")
    if not facts.condition_title.strip():
        raise InvalidInput("condition is missing", code="required", field="condition_title")
    if facts.visit_number < 1:
        raise InvalidInput("visit number must be 1 or more", code="invalid", field="visit_number")
    for area in facts.areas:
        if area.seconds < 0:
            raise InvalidInput("treatment time cannot be negative", code="invalid", field="seconds")


def draft_soap(facts: VisitFacts) -> SoapDraft:
    """Draft the note; InvalidInput when the identifying facts are missing or invalid."""
    _validate(facts)
    return SoapDraft(
        subjective=_subjective(facts),
        objective=_objective(facts),
        assessment=_assessment(facts),
        plan=_plan(facts),
    )


def _subjective(facts: VisitFacts) -> str:
    opening = (
        f"{facts.patient_display_name} attended visit {facts.visit_number} on "
        f"{facts.visit_date.isoformat()} for {facts.condition_title}."
    )
    report = facts.subjective.strip()
    return f"{opening} Patient report: {report}" if report else f"{opening} No report recorded."


def _test_line(test: PrePostResult) -> str:
    unit = _unit(test.unit)
    if test.pre is not None and test.post is not None:
        change = test.post - test.pre
        return (
            f"{test.name}: {_number(test.pre)}{unit} before, {_number(test.post)}{unit} after "
            f"(change {change:+g})."
        )
    if test.pre is not None:
        return f"{test.name}: {_number(test.pre)}{unit} before; not re-measured."
    if test.post is not None:
        return f"{test.name}: {_number(test.post)}{unit} after; no pre-test value."
    return f"{test.name}: not measured."


def _lower_first(label: str) -> str:
    """'Calf (...)' → 'calf (...)' for use mid-sentence; proper names keep their capital."""
    first = label.split(" ", 1)[0]
    return label if first in _PROPER_NAMES or first.isupper() else label[:1].lower() + label[1:]


_PROPER_NAMES = frozenset({"Achilles"})


def _unit(unit: str) -> str:
    return unit if not unit or unit.startswith(("/", "%", "°")) else f" {unit}"


def _where(area: TreatedArea) -> str:
    site = _lower_first(_label(catalog.body_site, area.site, "label"))
    region = _label(catalog.body_region, area.region, "label")
    side = f"{area.side} " if area.side and area.side not in {"none", "midline"} else ""
    return f"{side}{site} ({region.lower()})"


def _how(area: TreatedArea) -> str:
    strokes = _join(_label(catalog.stroke, s, "name").lower() for s in area.strokes)
    parts = [
        f"with {area.instrument}" if area.instrument else "",
        f"using {strokes} strokes" if strokes else "",
        f"at {area.angle_degrees}°" if area.angle_degrees is not None else "",
        f"{area.intensity} intensity" if area.intensity else "",
        f"for {_duration(area.seconds)}",
    ]
    return ", ".join(p for p in parts if p)


def _area_line(area: TreatedArea) -> str:
    sentences = [f"IASTM to the {_where(area)}, {_how(area)}."]
    if area.findings_count:
        texture = f" ({', '.join(area.findings_texture)})" if area.findings_texture else ""
        sentences.append(f"Restrictions found: {area.findings_count}{texture}.")
    if area.max_discomfort is not None:
        limit = f" against an agreed limit of {area.tolerance}/10" if area.tolerance else ""
        sentences.append(f"Maximum discomfort {area.max_discomfort}/10{limit}.")
    if area.skin_grade:
        sentences.append(f"Skin response: {area.skin_grade}.")
    if area.stop_reason:
        why = _STOP_TEXT.get(area.stop_reason, area.stop_note or area.stop_reason)
        sentences.append(f"Stopped because {why}.")
    return " ".join(sentences)


def _objective(facts: VisitFacts) -> str:
    lines = [_test_line(t) for t in facts.tests] or ["No pre/post tests recorded."]
    lines += [_area_line(a) for a in facts.areas] or ["No areas were treated with IASTM."]
    if facts.areas:
        total = sum(a.seconds for a in facts.areas)
        lines.append(f"Total IASTM time: {_duration(total)}.")
    return "\n".join(lines)


def _response(test: PrePostResult) -> str:
    if test.pre is None or test.post is None:
        return ""
    change = test.post - test.pre
    if change == 0:
        return f"{test.name} unchanged"
    if test.higher_is_better is None:
        return f"{test.name} changed by {change:+g}{_unit(test.unit)}"
    better = (change > 0) == test.higher_is_better
    return f"{test.name} {'improved' if better else 'worsened'} ({change:+g})"


def _tolerance(areas: tuple[TreatedArea, ...]) -> str:
    stopped = [a for a in areas if a.stop_reason in {"tolerance_reached", "patient_request"}]
    if stopped:
        return f"Treatment was limited by tolerance at the {_join(_where(a) for a in stopped)}."
    within = all(
        a.max_discomfort is not None and a.tolerance and a.max_discomfort < a.tolerance
        for a in areas
    )
    return "Treatment was tolerated within the agreed discomfort limit." if within else ""


def _assessment(facts: VisitFacts) -> str:
    out: list[str] = []
    if facts.areas:
        total = sum(a.seconds for a in facts.areas)
        out.append(
            f"Skilled instrument-assisted soft tissue mobilization was performed one-on-one by "
            f"the clinician to the {_join(_where(a) for a in facts.areas)} for "
            f"{facts.condition_title}, {_duration(total)} in total."
        )
    if facts.functional_goal.strip():
        out.append(f"Functional goal: {facts.functional_goal.strip()}.")
    responses = [r for r in (_response(t) for t in facts.tests) if r]
    if responses:
        out.append(f"Within-visit response: {_join(responses)}.")
    out.append(_tolerance(facts.areas) if facts.areas else "")
    if facts.clinical_reasoning.strip():
        out.append(f"Precautions considered: {facts.clinical_reasoning.strip()}")
    if facts.dose_modification.strip():
        out.append(f"Dose modification: {facts.dose_modification.strip()}")
    events = _join(e.strip() for e in facts.adverse_events)
    out.append(f"Adverse events: {events}." if events else "No adverse events recorded.")
    return " ".join(s for s in out if s)


def _exercise_line(item: PrescribedExercise) -> str:
    name = _label(catalog.exercise, item.exercise, "name")
    dose = [
        f"{item.sets} × {item.reps}" if item.sets and item.reps else "",
        f"{item.sets} set(s)" if item.sets and not item.reps else "",
        f"hold {item.hold_seconds} s" if item.hold_seconds else "",
        item.frequency,
    ]
    detail = ", ".join(d for d in dose if d)
    return f"{name} ({detail})" if detail else name


def _plan(facts: VisitFacts) -> str:
    lines = []
    if facts.exercises:
        lines.append(f"Home programme: {'; '.join(_exercise_line(e) for e in facts.exercises)}.")
    else:
        lines.append("No home exercises prescribed at this visit.")
    if facts.plan.strip():
        lines.append(facts.plan.strip())
    if facts.next_visit:
        lines.append(f"Next visit: {facts.next_visit.isoformat()}.")
    return "\n".join(lines)
