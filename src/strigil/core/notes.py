"""Draft a SOAP note from the recorded facts of a visit, one traceable claim per sentence.

Why: a signed note is a legal and billing record (S28). Payers look for the elements of a
skilled service (regions and tissues, instrument, strokes, minutes, the goal, the objective
response, the plan) and flag identical wording on every note as cloned documentation. So each
sentence of the draft is a ``Claim`` that names the recorded fact it comes from; where nothing
was recorded the draft says so ("No adverse events recorded") and never fills the gap.

Codes from the catalogue (sites, regions, instruments, strokes, exercises) are shown with their
labels; any other text is shown as given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from strigil.core import catalog
from strigil.core.note_facts import (
    AdverseEventFact,
    Claim,
    FindingFact,
    IntendedDose,
    MeasuredDose,
    PrecautionFact,
    PrePostResult,
    PrescribedExercise,
    SoapDraft,
    TreatedArea,
    VisitFacts,
    treating_phase,
)
from strigil.errors import InvalidInput

__all__ = [
    "AdverseEventFact",
    "Claim",
    "FindingFact",
    "PrePostResult",
    "PrecautionFact",
    "PrescribedExercise",
    "SoapDraft",
    "TreatedArea",
    "VisitFacts",
    "draft_soap",
    "duration",
    "stop_text",
]


_STOP_TEXT = {
    "tolerance_reached": "discomfort reached the agreed limit",
    "patient_request": "the patient asked to stop",
    "petechiae": "petechiae appeared (endpoint for this area)",
    "ecchymosis": "bruising (ecchymosis) appeared (endpoint for this area)",
    "time_limit": "the time limit for the area was reached",
    "adverse_sign": "an adverse sign was observed",
    "completed": "treatment of the area was completed",
}


def stop_text(reason: str) -> str:
    """Why an area ended, in the note's words."""
    return _STOP_TEXT.get(reason, reason.replace("_", " "))


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


def duration(seconds: int) -> str:
    """'2 min 5 s' (or '45 s') from recorded seconds."""
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
    sections = {
        "subjective": _subjective(facts),
        "objective": _objective(facts),
        "assessment": _assessment(facts),
        "plan": _plan(facts),
    }
    joiner = {"subjective": " ", "objective": "\n", "assessment": " ", "plan": "\n"}
    return SoapDraft(
        **{name: joiner[name].join(c.text for c in cs) for name, cs in sections.items()},
        claims=tuple((name, c) for name, cs in sections.items() for c in cs),
    )


# ---------------------------------------------------------------------------- subjective


def _subjective(facts: VisitFacts) -> list[Claim]:
    opening = Claim(
        f"{facts.patient_display_name} attended visit {facts.visit_number} on "
        f"{facts.visit_date.isoformat()} for {facts.condition_title}.",
        "visit",
    )
    report = facts.subjective.strip()
    if report:
        return [opening, Claim(f"Patient report: {report}", "subjective")]
    return [opening, Claim("No patient report recorded.", "none:subjective")]


# ---------------------------------------------------------------------------- objective


def _unit(unit: str) -> str:
    return unit if not unit or unit.startswith(("/", "%", "°")) else f" {unit}"


def _test_line(test: PrePostResult) -> Claim:
    unit, source = _unit(test.unit), f"test:{test.ref}"
    if test.pre is not None and test.post is not None:
        change = test.post - test.pre
        return Claim(
            f"{test.name}: {_number(test.pre)}{unit} before, {_number(test.post)}{unit} after "
            f"(change {change:+g}{unit}).",
            source,
        )
    if test.pre is not None:
        return Claim(f"{test.name}: {_number(test.pre)}{unit} before; not re-measured.", source)
    if test.post is not None:
        return Claim(f"{test.name}: {_number(test.post)}{unit} after; no pre-test value.", source)
    return Claim(f"{test.name}: not measured.", source)


def _lower_first(label: str) -> str:
    """'Calf (...)' → 'calf (...)' for use mid-sentence; proper names keep their capital."""
    first = label.split(" ", 1)[0]
    return label if first in _PROPER_NAMES or first.isupper() else label[:1].lower() + label[1:]


_PROPER_NAMES = frozenset({"Achilles"})


def _side(side: str | None) -> str:
    return f"{side} " if side and side not in {"none", "midline", "na"} else ""


def _where(area: TreatedArea) -> str:
    site = _lower_first(_label(catalog.body_site, area.site, "label"))
    region = _label(catalog.body_region, area.region, "label")
    return f"{_side(area.side)}{site} ({region.lower()})"


def _finding_line(finding: FindingFact, areas: dict[str, int]) -> Claim:
    site = _lower_first(_label(catalog.body_site, finding.site, "label"))
    treated = (
        f"treated in area {areas[finding.area_ref]}"
        if finding.area_ref in areas
        else "not linked to a treated area"
    )
    return Claim(
        f"Restriction at the {_side(finding.side)}{site}: {finding.texture}, severity "
        f"{finding.severity}/3; {treated}.",
        f"finding:{finding.ref}",
    )


def _how(area: TreatedArea) -> str:
    strokes = _join(_label(catalog.stroke, s, "name").lower() for s in area.strokes)
    instrument = _label(catalog.instrument_type, area.instrument, "label")
    parts = [
        f"with a {instrument.lower()} instrument" if area.instrument else "",
        f"using {strokes} strokes" if strokes else "",
        f"at {area.angle_degrees}°" if area.angle_degrees is not None else "",
        f"{area.intensity} intensity" if area.intensity else "",
        f"for {duration(area.seconds)}",
    ]
    return ", ".join(p for p in parts if p)


def _course(area: TreatedArea) -> str:
    if not area.readings:
        return "No discomfort readings recorded."
    values = ", ".join(str(v) for v in area.readings)
    limit = f" against an agreed limit of {area.tolerance}/10" if area.tolerance else ""
    asked = "; the patient asked to stop" if area.asked_to_stop else ""
    return f"Discomfort readings {values} (out of 10){limit}{asked}."


def _stop_text(area: TreatedArea) -> str:
    reason = area.stop_reason or ""
    if reason == "petechiae" and area.skin_grade == "ecchymosis":
        reason = "ecchymosis"  # rows stopped before the bruise had its own reason
    why = _STOP_TEXT.get(reason, area.stop_note or reason.replace("_", " "))
    return f"Stopped because {why}."


def _area_line(number: int, area: TreatedArea) -> Claim:
    sentences = [f"Area {number}: IASTM to the {_where(area)}, {_how(area)}.", _course(area)]
    if area.stop_reason:
        sentences.append(_stop_text(area))
    if area.skin_grade:
        sentences.append(f"Skin response: {area.skin_grade}.")
    return Claim(" ".join(sentences), f"area:{area.ref}")


def _dose_lines(number: int, area: TreatedArea) -> list[Claim]:
    """What an instrumented tool measured on the area, as recorded (one claim per recording),
    then the intended dose against the treating phase, or "not measured" when none was."""
    out = []
    for dose in area.measured:
        what = "exploring pass" if dose.phase == "exploring" else "measured dose"
        if dose.strokes and dose.mean_force_n is not None and dose.peak_force_n is not None:
            noun = "stroke" if dose.strokes == 1 else "strokes"
            text = (
                f"Area {number} {what}: {dose.strokes} {noun}, "
                f"mean {dose.mean_force_n:.1f} N, peak {dose.peak_force_n:.1f} N, "
                f"{dose.time_under_load_s:.0f} s under load."
            )
        else:
            text = f"Area {number} {what}: no strokes above the contact threshold."
        if dose.cap_exceeded and dose.force_cap_n is not None:
            text += f" The peak exceeded the precaution force cap of {dose.force_cap_n:g} N."
        out.append(Claim(text, f"sensor_recording:{dose.ref}"))
    if area.intended is not None:
        line = _against_intended(area.intended, area.measured)
        out.append(Claim(f"Area {number} {line}.", f"intended_dose:{area.intended.ref}"))
    return out


def _against_intended(intended: IntendedDose, measured: Sequence[MeasuredDose]) -> str:
    """'intended 4–7 N; measured mean 5.8 N: as intended', or '...; not measured'."""
    treating = treating_phase(measured)
    if treating is None:
        why = " (only an exploring pass was recorded)" if measured else ""
        return f"{intended.describe()}; not measured{why}"
    count = sum(1 for d in measured if d.phase == "treating")
    how = "measured" if count == 1 else f"measured over {count} treating recordings"
    return intended.compare(treating, how)


def _objective(facts: VisitFacts) -> list[Claim]:
    out = [_test_line(t) for t in facts.tests] or [
        Claim("No pre/post tests recorded.", "none:tests")
    ]
    numbers = {a.ref: i for i, a in enumerate(facts.areas, 1)}
    out += [_finding_line(f, numbers) for f in facts.findings] or [
        Claim("No restrictions recorded.", "none:findings")
    ]
    area_lines = [
        line
        for a in facts.areas
        for line in (_area_line(numbers[a.ref], a), *_dose_lines(numbers[a.ref], a))
    ]
    out += area_lines or [Claim("No areas were treated with IASTM.", "none:areas")]
    if facts.areas:
        total = sum(a.seconds for a in facts.areas)
        out.append(Claim(f"Total IASTM time: {duration(total)}.", "total:iastm"))
    if facts.timed_minutes:
        parts = ", ".join(f"{code} {m} min" for code, m in facts.timed_minutes)
        total_min = sum(m for _, m in facts.timed_minutes)
        out.append(Claim(f"Total timed minutes: {total_min} ({parts}).", "total:timed"))
    return out


# ---------------------------------------------------------------------------- assessment


def _response(test: PrePostResult) -> str:
    if test.pre is None or test.post is None:
        return ""
    change = test.post - test.pre
    if change == 0:
        return f"{test.name} unchanged"
    if test.higher_is_better is None:
        return f"{test.name} changed by {change:+g}{_unit(test.unit)}"
    better = (change > 0) == test.higher_is_better
    return f"{test.name} {'improved' if better else 'worsened'} ({change:+g}{_unit(test.unit)})"


def _tolerance(areas: tuple[TreatedArea, ...]) -> list[Claim]:
    stopped = [a for a in areas if a.stop_reason in {"tolerance_reached", "patient_request"}]
    if stopped:
        where = _join(_where(a) for a in stopped)
        return [Claim(f"Treatment was limited by tolerance at the {where}.", "tolerance")]
    within = bool(areas) and all(
        a.readings and a.tolerance and max(a.readings) < a.tolerance for a in areas
    )
    text = "Treatment was tolerated within the agreed discomfort limit."
    return [Claim(text, "tolerance")] if within else []


def _performer(facts: VisitFacts) -> list[Claim]:
    out: list[Claim] = []
    if facts.performed_by.strip() and facts.areas:
        out.append(Claim(f"Treatment performed by {facts.performed_by.strip()}.", "performer"))
    for name in facts.assisted_by:
        supervisor = f" under the supervision of {facts.performed_by}" if facts.performed_by else ""
        out.append(Claim(f"{name} recorded data at this visit{supervisor}.", "assistant"))
    return out


def _precaution_lines(facts: VisitFacts) -> list[Claim]:
    out: list[Claim] = []
    for p in facts.precautions:
        which = f" ({_join(p.precautions)})" if p.precautions else ""
        if p.reasoning.strip():
            text = f"Precautions applied{which}: {p.reasoning.strip().rstrip('.')}."
            out.append(Claim(text, f"precaution:{p.ref}"))
        if p.dose_modification.strip():
            text = f"Dose modification: {p.dose_modification.strip().rstrip('.')}."
            out.append(Claim(text, f"precaution:{p.ref}"))
    return out


def _events(facts: VisitFacts) -> list[Claim]:
    if not facts.adverse_events:
        return [Claim("No adverse events recorded.", "none:adverse_events")]
    return [
        Claim(
            f"Adverse event: {e.category.replace('_', ' ')} ({e.severity}): "
            f"{e.description.strip().rstrip('.')}.",
            f"adverse_event:{e.ref}",
        )
        for e in facts.adverse_events
    ]


def _assessment(facts: VisitFacts) -> list[Claim]:
    out = _performer(facts)
    if facts.functional_goal.strip():
        text = f"Functional goal: {facts.functional_goal.strip().rstrip('.')}."
        out.append(Claim(text, "goal"))
    responses = [r for r in (_response(t) for t in facts.tests) if r]
    if responses:
        out.append(Claim(f"Within-visit response: {_join(responses)}.", "response"))
    out += _tolerance(facts.areas)
    out += _precaution_lines(facts)
    return out + _events(facts)


# ---------------------------------------------------------------------------- plan


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


def _plan(facts: VisitFacts) -> list[Claim]:
    out = [
        Claim(f"Home programme: {_exercise_line(e)}.", f"exercise:{e.ref}") for e in facts.exercises
    ]
    out = out or [Claim("No home exercises prescribed at this visit.", "none:exercises")]
    if facts.plan.strip():
        out.append(Claim(facts.plan.strip(), "plan"))
    if facts.next_visit:
        out.append(Claim(f"Next visit: {facts.next_visit.isoformat()}.", "next_visit"))
    return out
