"""Synthetic patients and their episodes: screening, consent, visits, outcomes.

Screenings are evaluated by the core screening rules (not written beside them), so blocked
regions, precautions and dose caps in the demo are the ones the services would compute.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from strigil.core import catalog, diagnoses, identity, integrity, measures, scoring
from strigil.demo import intake, visits
from strigil.demo.rows import Batch, Ids, Signer, Staff, at, meta, new_uuid
from strigil.services import notes
from strigil.services.screenings import age_on

GIVEN = (
    "Avery",
    "Briar",
    "Cato",
    "Dara",
    "Ember",
    "Fenn",
    "Gale",
    "Halden",
    "Ines",
    "Juno",
    "Kestrel",
    "Lark",
    "Maren",
    "Nico",
    "Oona",
    "Pax",
    "Quill",
    "Rowan",
    "Sable",
    "Tamsin",
)
FAMILY = (
    "Ashgrove",
    "Brackwater",
    "Coldmere",
    "Dunlin",
    "Elderby",
    "Farrowdale",
    "Glenrock",
    "Hollowell",
    "Ivybridge",
    "Juniper",
    "Kettlewood",
    "Larchmont",
    "Mossbank",
    "Netherby",
    "Oakhollow",
    "Pebblefield",
    "Quarrybrook",
    "Rushmere",
    "Stonecrop",
    "Thistlewood",
)
# Trajectory kinds and their share: (fraction of baseline badness removed by the end).
KINDS = (
    ("responder", 0.5, (0.45, 0.7)),
    ("partial", 0.2, (0.12, 0.22)),
    ("non_responder", 0.25, (-0.04, 0.06)),
    ("worse", 0.05, (-0.3, -0.18)),
)
CONDITIONS = (
    "M72.2",
    "M77.11",
    "M76.61",
    "M76.51",
    "M76.31",
    "M54.2",
    "M54.50",
    "M75.81",
    "M17.11",
    "M22.2X1",
    "G56.01",
    "M77.01",
)
# Common presentations come first and more often, so each clinic has enough completed episodes
# per condition for the expected course and the practice comparison to have something to show.
CONDITION_WEIGHTS = (16, 16, 8, 6, 6, 14, 16, 6, 4, 3, 3, 2)
RELIABILITY_SHARE = 0.05  # share of IASTM visits run as two-therapist reliability checks
MINOR_SHARE = 0.02  # adolescents, who consent through a parent or guardian
TOLERANCE = 6  # the discomfort limit agreed at the start of every demo visit
VISITS = (4, 12)  # fewest and most visits in an episode
AREA_COUNTS = (1, 2, 2, 3)  # areas a therapist sets out to treat at an IASTM visit
EXERCISES_PER_VISIT = 2
MEASURES_PER_VISIT = 2  # pain, and the condition's own measure at some visits
_AREAS = VISITS[1] * max(AREA_COUNTS)
# The most rows one patient can have in each table: each patient gets an id block this size.
PER_PATIENT = {
    "patient": 1,
    "episode": 1,
    "consent": 1,
    "screening_clearance": 1,
    "screening": 1 + VISITS[1],  # the intake and a re-check at every visit
    "visit": VISITS[1],
    "treated_area": _AREAS,
    "discomfort_reading": _AREAS * max(visits.READING_COUNTS),
    "restriction_finding": _AREAS * 2,  # a colleague's too at a reliability check
    "skin_response": _AREAS,
    "adverse_event": _AREAS,
    "exercise_prescription": VISITS[1] * EXERCISES_PER_VISIT,
    "outcome_measurement": VISITS[1] * MEASURES_PER_VISIT,
}


class Generator:
    """Builds one patient's whole history into a batch of rows.

    A patient's history depends only on the seed, the anchor day, the patient's index and
    the first free id of each table (``base``): it has its own random stream and its own id
    block, so patients can be built in any order, by any number of processes, and still give
    the same rows."""

    def __init__(
        self, *, seed: int, anchor: date, base: dict[str, int], signers: dict[int, Signer]
    ) -> None:
        self.seed, self.anchor, self.base, self.signers = seed, anchor, base, signers
        self.indications = {i.code: i for i in catalog.indications()}
        self.sites = catalog.body_sites()
        self.sites_in: dict[str | None, list[Any]] = {}
        for site in self.sites:
            self.sites_in.setdefault(site.region, []).append(site)
        self.exercises = catalog.exercises()
        self.strokes = [s.code for s in catalog.strokes()]
        self.instruments = [t.code for t in catalog.instrument_types()]
        self.rule_set = catalog.catalog_versions()["screening_rules.json"]
        self.limits = visits.limits()

    def patient(self, batch: Batch, staff: Staff, index: int) -> None:
        rng = random.Random(f"{self.seed}:{self.anchor.isoformat()}:{index}")
        ids = Ids.block(self.base, PER_PATIENT, index)
        therapist = staff.therapists[index % len(staff.therapists)]
        pid = ids.take("patient")
        start = self.anchor - timedelta(days=rng.randint(0, 300))
        created = at(start, 8)
        minor = rng.random() < MINOR_SHARE
        year = self.anchor.year - rng.randint(12, 16) if minor else rng.randint(1945, 2006)
        birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
        external_id = new_uuid(rng)
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        batch.add(
            "patient",
            {
                "id": pid,
                "external_id": external_id,
                "clinic_id": staff.clinic_id,
                "record_number": f"DEMO-{index + 1:06d}",
                "given_name": given,
                "family_name": family,
                "name_key": identity.name_key(given, family),
                "birth_date": birth,
                "sex": rng.choice(("female", "male", "female", "male", "other")),
                "phone": None,
                "email": None,
                "notes": "Synthetic demo patient.",
                "created_by_id": therapist,
                **meta(created),
            },
        )
        age = age_on(birth, start) or 0
        episode = EpisodeBuilder(self, (rng, ids), batch, staff, therapist, pid, start, age)
        episode.build()


_SURGERY_BY_REGION = {
    "knee": ("arthroscopy", "ligament_reconstruction", "arthroplasty"),
    "hip_thigh": ("arthroplasty", "arthroscopy"),
    "shoulder": ("arthroscopy", "tendon_repair", "arthroplasty"),
    "elbow_forearm": ("tendon_repair", "fracture_fixation"),
    "wrist_hand": ("tendon_repair", "fracture_fixation"),
    "lower_leg_ankle": ("tendon_repair", "fracture_fixation", "ligament_reconstruction"),
    "foot": ("tendon_repair", "fracture_fixation"),
    "low_back": ("spinal",),
    "neck": ("spinal",),
}


def risk_factors(rng: random.Random, age: int, region: str) -> dict[str, Any]:
    """Payer, surgery and comorbidity count, drawn so they hang together: Medicare from 65,
    surgery in about one episode in eight (typed by region), more comorbidities with age.

    Drawn from their own generator (seeded by the episode), so adding them left every other
    demo value as it was."""
    if age >= 65:
        payer = rng.choices(("medicare", "private", "self_pay"), (0.8, 0.15, 0.05))[0]
    else:
        payer = rng.choices(
            ("private", "medicaid", "workers_comp", "auto", "self_pay", "other"),
            (0.62, 0.14, 0.1, 0.05, 0.06, 0.03),
        )[0]
    surgery = rng.random() < 0.12
    kinds = _SURGERY_BY_REGION.get(region, ("other",))
    expected = 0.3 + max(0, age - 30) * 0.05  # about 2.5 at 75
    comorbidities = sum(rng.random() < expected / 8 for _ in range(8))
    return {
        "payer": payer,
        "surgery": surgery,
        "post_surgical_type": rng.choice(kinds) if surgery else None,
        "comorbidity_count": comorbidities,
    }


class EpisodeBuilder:
    """One episode: screening, consent, visits with areas, readings and outcomes."""

    def __init__(
        self,
        gen: Generator,
        streams: tuple[random.Random, Ids],
        batch: Batch,
        staff: Staff,
        therapist: int,
        patient_id: int,
        start: date,
        age: int,
    ) -> None:
        self.gen, self.batch, self.staff = gen, batch, staff
        self.rng, self.ids = streams
        self.therapist, self.patient_id, self.start = therapist, patient_id, start
        self.age = age
        code = self.rng.choices(CONDITIONS, CONDITION_WEIGHTS)[0]
        self.indication = gen.indications[code]
        self.measure = measures.get_measure(self.indication.suggested_measure)
        self.kind, self.delta = _trajectory(self.rng)
        self.baseline = self.rng.uniform(0.45, 0.75)
        self.approach = self.rng.choices(
            ("iastm", "manual_therapy", "exercise_only"), (0.7, 0.15, 0.15)
        )[0]
        self.sites = gen.sites_in.get(self.indication.body_region, [])
        laterality = self.indication.laterality
        self.side = laterality if laterality in ("left", "right") else "na"
        self.history = visits.SiteHistory()
        self.keys = {"clinic": staff.clinic_id, "patient": patient_id, "therapist": therapist}
        self.intake = intake.draw(
            self.rng, age=age, side=self.side, region=self.indication.body_region
        )

    def build(self) -> None:
        rng = self.rng
        n_visits = rng.randint(*VISITS)
        days = self._visit_days(n_visits)
        discharged = days[-1] < self.gen.anchor - timedelta(days=7)
        self.episode_id = self.ids.take("episode")
        self.keys["episode"] = self.episode_id
        self.batch.add("episode", self._episode_row(days, discharged))
        self._screening_and_consent()
        for number, day in enumerate(days, start=1):
            last_open = number == len(days) and not discharged and day == self.gen.anchor
            self._visit(number, day, n_visits, open_visit=last_open)

    def _visit_days(self, n: int) -> list[date]:
        days, day = [], self.start
        for _ in range(n):
            days.append(day)
            day += timedelta(days=self.rng.choice((3, 4, 7, 7)))
        if days[-1] > self.gen.anchor:  # keep the course in the past, ending today at the latest
            shift = days[-1] - self.gen.anchor
            days = [d - shift for d in days]
        return days

    def _episode_row(self, days: list[date], discharged: bool) -> dict[str, Any]:
        ind = self.indication
        side = self.side
        return {
            "id": self.episode_id,
            "external_id": new_uuid(self.rng),
            "clinic_id": self.staff.clinic_id,
            "patient_id": self.patient_id,
            "therapist_id": self.therapist,
            "condition_code": ind.code,
            "condition_title": ind.title,
            "condition_group": ind.condition_group,
            "body_region": ind.body_region,
            "side": side,
            "onset_on": days[0] - timedelta(days=self.rng.randint(20, 200)),
            "chronicity": self.rng.choice(("subacute", "chronic", "chronic")),
            "goals": "Return to daily activities without pain.",
            "primary_measure": self.measure.code,
            "approach": self.approach,
            "status": "discharged" if discharged else "active",
            "started_on": days[0],
            "ended_on": days[-1] if discharged else None,
            **risk_factors(random.Random(self.episode_id), self.age, ind.body_region or ""),
            **meta(at(days[0], 8)),
        }

    def _screening_and_consent(self) -> None:
        when = at(self.start, 8, 5)
        intake.add_intake(
            self.batch,
            self.intake,
            self.rng,
            self.ids,
            self.keys,
            diagnoses.patient_condition(self.indication.code, self.indication.title),
            when,
        )

    def _badness(self, number: int, total: int) -> float:
        progress = 1 - math.exp(-(number - 1) / 2.5)
        value = self.baseline * (1 - self.delta * progress / (1 - math.exp(-(total - 1) / 2.5)))
        return min(1.0, max(0.0, value + self.rng.gauss(0, 0.025)))

    def _visit(self, number: int, day: date, total: int, *, open_visit: bool) -> None:
        rng = self.rng
        started = at(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))
        visit_id = self.ids.take("visit")
        badness = self._badness(number, total)
        iastm = self.approach == "iastm"
        check = iastm and not open_visit and rng.random() < RELIABILITY_SHARE
        row = {
            "id": visit_id,
            "external_id": new_uuid(rng),
            "clinic_id": self.staff.clinic_id,
            "episode_id": self.episode_id,
            "patient_id": self.patient_id,
            "therapist_id": self.therapist,
            "number": number,
            "started_at": started,
            "ended_at": None if open_visit else started + timedelta(minutes=45),
            "status": "in_progress" if open_visit else "signed",
            "phase": "treat" if open_visit else "document",
            "tolerance_limit": TOLERANCE,
            "reliability_check": check,
            "techniques": ["iastm"] if iastm else [self.approach],
            "pre_test": "",
            "post_test": "",
            "subjective": f"Reports pain {round(badness * 10)}/10 with daily tasks.",
            "objective": "",
            "assessment": "",
            "plan": "Continue plan of care; home programme as prescribed.",
            "signed_at": None if open_visit else started + timedelta(minutes=50),
            "signed_by_id": None if open_visit else self.therapist,
            **meta(started),
        }
        self.batch.add("visit", row)
        if iastm:
            keys = self.keys | {"id": self.ids.take("screening")}
            recheck = intake.recheck_row(self.intake, rng, keys, visit_id, started, self.gen.limits)
            self.batch.add("screening", recheck)
        plans = self._areas(visit_id, started, check) if iastm and not open_visit else []
        if not open_visit:
            row["objective"], row["assessment"] = visits.note_text(plans)
        self._seal(row)
        self._exercises(visit_id, started)
        self._outcomes(visit_id, number, total, started, badness)

    def _seal(self, row: dict[str, Any]) -> None:
        """Sign a signed visit's note as ``services.notes.seal_unsealed`` would: the signer
        as they are now and the digest of the note's content (demo visits bill nothing)."""
        signer = self.gen.signers.get(row["signed_by_id"])
        row |= {
            "signer_name": signer.name if signer else None,
            "signer_credentials": signer.credentials if signer else None,
            "signer_licence": None,
            "signer_role": signer.role if signer else None,
            "note_digest": None,
        }
        if signer is not None:
            row["note_digest"] = integrity.digest(notes.signed_content_of(row, ()))

    def _areas(self, visit_id: int, started: datetime, check: bool) -> list[visits.AreaPlan]:
        """The visit's areas, each admitted and ended by the core rules (``demo.visits``)."""
        sim = visits.VisitSim(
            self.rng, self.intake.effective, TOLERANCE, self.gen.limits, self.history
        )
        plans: list[visits.AreaPlan] = []
        count = min(self.rng.choice(AREA_COUNTS), len(self.sites))
        for index, site in enumerate(self.rng.sample(self.sites, count)):  # a site once a visit
            when = started + timedelta(minutes=10 + 4 * index)
            plan = sim.area(site, visits.side_for(site, self.side, self.rng), when)
            if plan is not None:
                self._area(visit_id, plan, when, check)
                plans.append(plan)
        return plans

    def _area(self, visit_id: int, plan: visits.AreaPlan, when: datetime, check: bool) -> None:
        rng, site = self.rng, plan.site
        area_id = self.ids.take("treated_area")
        self.batch.add(
            "treated_area",
            {
                "id": area_id,
                "external_id": new_uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "visit_id": visit_id,
                "body_site": site.code,
                "body_region": site.region,
                "side": plan.side,
                "instrument_type": rng.choice(self.gen.instruments),
                "instrument_id": None,
                "strokes": rng.sample(self.gen.strokes, 2),
                "angle_deg": rng.choice((30, 45, 60)),
                "intensity": plan.intensity,
                "seconds": plan.seconds,
                "status": "stopped",
                "stop_reason": plan.stop_reason.value,
                "stop_note": plan.stop_note,
                "stopped_at": when + timedelta(minutes=3),
                "warnings": list(plan.warnings),
                "other_side_confirmed": False,
                **meta(when),
            },
        )
        for i, (value, asked) in enumerate(plan.readings):
            self.batch.add(
                "discomfort_reading",
                {
                    "id": self.ids.take("discomfort_reading"),
                    "external_id": new_uuid(rng),
                    "clinic_id": self.staff.clinic_id,
                    "treated_area_id": area_id,
                    "recorded_by_id": self.therapist,
                    "value": value,
                    "patient_asked_to_stop": asked,
                    "created_at": when + timedelta(seconds=30 * (i + 1)),
                },
            )
        self._finding(visit_id, area_id, site, when, self.therapist)
        if check:  # a colleague examines independently; they agree on the site most of the time
            other = next(t for t in self.staff.therapists if t != self.therapist)
            second = site if rng.random() < 0.7 else rng.choice(self.sites)
            self._finding(visit_id, area_id, second, when, other)
        self._skin(area_id, plan.grade.value, when)

    def _finding(
        self, visit_id: int, area_id: int, site: Any, when: datetime, recorded_by: int
    ) -> None:
        rng = self.rng
        view, pos = ("front", site.front) if site.front else ("back", site.back)
        self.batch.add(
            "restriction_finding",
            {
                "id": self.ids.take("restriction_finding"),
                "external_id": new_uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "visit_id": visit_id,
                "treated_area_id": area_id,
                "recorded_by_id": recorded_by,
                "chart_view": view,
                "x": min(1.0, max(0.0, pos.x + rng.uniform(-0.02, 0.02))),
                "y": min(1.0, max(0.0, pos.y + rng.uniform(-0.02, 0.02))),
                "body_site": site.code,
                "texture": rng.choice(("gravelly", "crumbly", "craggy")),
                "severity": rng.randint(1, 3),
                **meta(when, versioned=False),
            },
        )

    def _skin(self, area_id: int, grade: str, when: datetime) -> None:
        rng = self.rng
        self.batch.add(
            "skin_response",
            {
                "id": self.ids.take("skin_response"),
                "external_id": new_uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "treated_area_id": area_id,
                "recorded_by_id": self.therapist,
                "grade": grade,
                "notes": None,
                "resolved_at": when + timedelta(days=3) if grade == "ecchymosis" else None,
                **meta(when, versioned=False),
            },
        )
        if grade == "ecchymosis":
            self.batch.add(
                "adverse_event",
                {
                    "id": self.ids.take("adverse_event"),
                    "external_id": new_uuid(rng),
                    "clinic_id": self.staff.clinic_id,
                    "patient_id": self.patient_id,
                    "visit_id": None,
                    "treated_area_id": area_id,
                    "category": "bruise",
                    "severity": "mild",
                    "description": "Light bruising over the treated area.",
                    "onset_at": when + timedelta(days=1),
                    "referral_made": False,
                    "status": "resolved",
                    "follow_up": "Resolved within days; dose reduced.",
                    "resolved_at": when + timedelta(days=3),
                    "recorded_by_id": self.therapist,
                    **meta(when),
                },
            )

    def _exercises(self, visit_id: int, when: datetime) -> None:
        rng = self.rng
        region = self.indication.body_region
        choices = [e for e in self.gen.exercises if region in e.regions] or list(self.gen.exercises)
        for ex in rng.sample(choices, min(EXERCISES_PER_VISIT, len(choices))):
            self.batch.add(
                "exercise_prescription",
                {
                    "id": self.ids.take("exercise_prescription"),
                    "external_id": new_uuid(rng),
                    "clinic_id": self.staff.clinic_id,
                    "visit_id": visit_id,
                    "exercise_code": ex.code,
                    "sets": ex.sets or 1,
                    "repetitions": ex.reps,
                    "hold_seconds": ex.hold_seconds,
                    "frequency": ex.frequency or "daily",
                    "notes": None,
                    "details": {},
                    **meta(when, versioned=False),
                },
            )

    def _outcomes(
        self, visit_id: int, number: int, total: int, when: datetime, badness: float
    ) -> None:
        pain = min(10, max(0, round(badness * 10 + self.rng.gauss(0, 0.6))))
        self._measurement(visit_id, "NPRS", [pain], {}, when)
        if number == 1 or number == total or number % 2 == 0:
            answers, options = _answers_for(self.measure, badness, self.rng)
            self._measurement(visit_id, self.measure.code, answers, options, when)

    def _measurement(
        self, visit_id: int, code: str, answers: list[Any], options: dict[str, Any], when: datetime
    ) -> None:
        result = scoring.score(code, answers, **options)
        self.batch.add(
            "outcome_measurement",
            {
                "id": self.ids.take("outcome_measurement"),
                "external_id": new_uuid(self.rng),
                "clinic_id": self.staff.clinic_id,
                "patient_id": self.patient_id,
                "episode_id": self.episode_id,
                "visit_id": visit_id,
                "measure": code,
                "registry_version": measures.catalog_version(),
                "measured_at": when,
                "answers": answers,
                "options": options,
                "score": result.score,
                "subscores": dict(result.subscores),
                "recorded_by_id": self.therapist,
                **meta(when, versioned=False),
            },
        )


def _trajectory(rng: random.Random) -> tuple[str, float]:
    kinds = [k for k, _, _ in KINDS]
    kind = rng.choices(kinds, [w for _, w, _ in KINDS])[0]
    low, high = next(r for k, _, r in KINDS if k == kind)
    return kind, rng.uniform(low, high)


def _answers_for(
    m: measures.Measure, badness: float, rng: random.Random
) -> tuple[list[Any], dict[str, Any]]:
    """Item answers whose score sits near ``badness`` (0 best, 1 worst) on measure ``m``."""
    options: dict[str, Any] = {"item8_branch": "A"} if any(i.branches for i in m.items) else {}
    higher_better = m.direction == "higher_is_better"
    answers: list[Any] = []
    for item in m.items:
        frac = min(1.0, max(0.0, badness + rng.gauss(0, 0.08)))
        value = (
            item.max - frac * (item.max - item.min)
            if higher_better
            else (item.min + frac * (item.max - item.min))
        )
        allowed = item.branches.get("A") if item.branches else item.allowed
        if allowed:
            value = min(allowed, key=lambda a: abs(a - value))
        answers.append(round(value) if item.integer else round(value, 1))
    return answers, options
