"""One demo visit's treated areas, decided by the core rules the services apply.

A simulated therapist picks a site; the same checks as ``services.treatment.add_area`` decide
whether it may be treated (blocked region and side, a site closed earlier in the visit, the
dose caps, a gentle start), and the same rules decide how it ends: a discomfort reading at
the agreed limit or the patient's request stops it at once (``protocol.evaluate_discomfort``),
petechiae or bruising end it (``protocol.ends_area``), and a closing stop keeps that site and
side closed for the rest of the visit (``safety.closes_site``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from strigil.core import catalog, notes, protocol, safety, screening
from strigil.core.catalog import BodySite, Thresholds
from strigil.core.protocol import Intensity, SkinGrade, StopReason
from strigil.core.screening import ScreeningResult
from strigil.errors import InvalidInput

SKIN_GRADES = (SkinGrade.NONE, SkinGrade.ERYTHEMA, SkinGrade.PETECHIAE)
SKIN_WEIGHTS = (0.2, 0.65, 0.12)
BRUISE_SHARE = 0.03
ASK_TO_STOP_SHARE = 0.015  # per reading
SPIKE_SHARE = 0.07  # per later reading: discomfort jumps, often to the agreed limit
READING_COUNTS = (2, 2, 3)  # readings taken in an area that is not stopped sooner


@dataclass(frozen=True, slots=True)
class AreaPlan:
    """What happened to one treated area, in the order it happened."""

    site: BodySite
    side: str
    intensity: str
    seconds: int
    readings: tuple[tuple[int, bool], ...]  # (value, patient asked to stop)
    stop_reason: StopReason
    stop_note: str | None
    grade: SkinGrade
    warnings: tuple[str, ...]


@dataclass
class SiteHistory:
    """When each site and side was last treated in the episode, and unresolved bruises."""

    last: dict[tuple[str, str], datetime] = field(default_factory=dict)
    bruised_until: dict[tuple[str, str], datetime] = field(default_factory=dict)


@dataclass
class VisitSim:
    """The areas of one visit, each admitted and ended by the core rules."""

    rng: random.Random
    result: ScreeningResult
    tolerance: int
    limits: Thresholds
    history: SiteHistory
    closed: list[tuple[str, str, str]] = field(default_factory=list)
    treated: int = 0

    def admits(self, site: BodySite, side: str, when: datetime) -> bool:
        """Whether the services would accept a new area here (a bruise is also avoided)."""
        try:
            safety.check_side(site, side)
            screening.check_region(self.result, site.region, side)
            safety.check_site_open(self.closed, site, side)
        except InvalidInput:
            return False
        return self.history.bruised_until.get((site.code, side), when) <= when

    def area(self, site: BodySite, side: str, when: datetime) -> AreaPlan | None:
        """Treat ``site`` on ``side`` at ``when``, or None when the rules do not allow it."""
        if not self.admits(site, side, when):
            return None
        intensity, seconds = self._dose()
        safety.check_dose(self.result.caps, intensity, seconds)
        protocol.check_first_intensity(intensity, self.treated == 0)
        readings, reason = self._readings()
        grade = self._grade()
        if reason is None and protocol.ends_area(grade):
            reason = protocol.skin_stop_reason(grade)
        plan = AreaPlan(
            site=site,
            side=side,
            intensity=intensity,
            seconds=seconds,
            readings=readings,
            stop_reason=reason or StopReason.COMPLETED,
            stop_note=_note(reason, readings, self.tolerance, grade),
            grade=grade,
            warnings=tuple(self._warnings(site, side, seconds, when)),
        )
        self._remember(plan, when)
        return plan

    def _dose(self) -> tuple[str, int]:
        caps = self.result.caps
        choices = [Intensity.GENTLE, Intensity.MODERATE]
        allowed = [i for i in choices if caps.intensity is None or not i > caps.intensity]
        seconds = self.rng.randint(45, 150)
        return self.rng.choice(allowed).value, min(seconds, caps.seconds or seconds)

    def _readings(self) -> tuple[tuple[tuple[int, bool], ...], StopReason | None]:
        """Discomfort as the patient reports it; the first stopping reading ends the series."""
        series = [self.rng.randint(1, 4), self._later(), self._later()]
        out: list[tuple[int, bool]] = []
        for value in series[: self.rng.choice(READING_COUNTS)]:
            asked = self.rng.random() < ASK_TO_STOP_SHARE
            out.append((value, asked))
            reason = protocol.evaluate_discomfort(value, self.tolerance)
            if asked:
                return tuple(out), StopReason.PATIENT_REQUEST
            if reason is not None:
                return tuple(out), reason
        return tuple(out), None

    def _later(self) -> int:
        """A reading after the first: usually settled, sometimes a jump."""
        if self.rng.random() < SPIKE_SHARE:
            return self.rng.randint(5, 8)
        return self.rng.randint(2, 5)

    def _grade(self) -> SkinGrade:
        if self.rng.random() < BRUISE_SHARE:
            return SkinGrade.ECCHYMOSIS
        return self.rng.choices(SKIN_GRADES, SKIN_WEIGHTS)[0]

    def _warnings(self, site: BodySite, side: str, seconds: int, when: datetime) -> list[str]:
        last = self.history.last.get((site.code, side))
        bruised = self.history.bruised_until.get((site.code, side), when) > when
        return protocol.time_warnings(seconds, self.limits) + protocol.retreatment_warnings(
            last, when, bruised, self.limits
        )

    def _remember(self, plan: AreaPlan, when: datetime) -> None:
        key = (plan.site.code, plan.side)
        self.treated += 1
        self.history.last[key] = when
        if plan.grade is SkinGrade.ECCHYMOSIS:
            self.history.bruised_until[key] = when + timedelta(days=3)
        if safety.closes_site(plan.stop_reason, plan.grade):
            self.closed.append((plan.site.code, plan.side, plan.stop_reason.value))


def _note(
    reason: StopReason | None,
    readings: tuple[tuple[int, bool], ...],
    tolerance: int,
    grade: SkinGrade,
) -> str | None:
    """The stop note the services would write for this ending."""
    if reason is StopReason.TOLERANCE_REACHED:
        return f"discomfort {readings[-1][0]}/10 with limit {tolerance}/10"
    if reason is StopReason.PATIENT_REQUEST:
        return "patient asked"
    if reason in (StopReason.PETECHIAE, StopReason.ECCHYMOSIS):
        return f"skin response: {grade.value}"
    return None


def side_for(site: BodySite, episode_side: str, rng: random.Random) -> str:
    """The side a therapist would treat: the episode's, midline for unpaired sites."""
    if not site.paired:
        return "midline"
    if episode_side in ("left", "right"):
        return episode_side
    return rng.choice(("left", "right"))


def limits() -> Thresholds:
    """The clinic's default thresholds."""
    return catalog.thresholds()


EARLY_STOPS = frozenset({"tolerance_reached", "patient_request", "petechiae", "ecchymosis",
                         "adverse_sign"})  # fmt: skip


def note_text(plans: list[AreaPlan]) -> tuple[str, str]:
    """The signed note's objective and assessment, stated from what happened to each area,
    so a demo note says no more than its own record (and no two visits read alike by rote)."""
    if not plans:
        return "No IASTM areas at this visit.", "Exercise-based care as planned."
    lines = []
    for plan in plans:
        course = "–".join(str(value) for value, _ in plan.readings) or "not rated"
        lines.append(
            f"{plan.site.label} ({plan.side}): {plan.intensity} strokes for "
            f"{notes.duration(plan.seconds)}; discomfort {course}/10; skin {plan.grade.value}; "
            f"ended because {notes.stop_text(plan.stop_reason.value)}."
        )
    early = [p for p in plans if p.stop_reason.value in EARLY_STOPS]
    if not early:
        return " ".join(lines), "Treatment tolerated within the agreed discomfort limit."
    stopped = "; ".join(
        f"{p.site.label} ({p.side}) stopped early: {notes.stop_text(p.stop_reason.value)}"
        for p in early
    )
    return " ".join(lines), f"{stopped}."
