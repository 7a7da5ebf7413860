"""The demo clinic: deterministic synthetic patients, visits and outcomes from a seed.

Everything here is invented. Names are drawn from short made-up lists, record numbers start
with ``DEMO-``, and the same seed and anchor date always give the same rows (a content hash
proves it). Rows are written in bulk with explicit ids so that ten thousand patients load in
well under a minute; the services' per-row checks are not needed for data built from the
catalogs themselves.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.orm import Session

from strigil.core import catalog, consent, measures, scoring
from strigil.services import auth
from strigil.store.clinics import Clinic, User
from strigil.store.models import Base

DEMO_PASSWORD = auth.DEMO_PASSWORD  # synthetic demo accounts only
DEFAULT_SEED = 20261126
CHUNK = 200
CLINICS = (("Northside Physical Therapy", "northside"), ("Riverside Sports Rehab", "riverside"))
STAFF = (
    ("admin", "Admin"),
    ("therapist", "Therapist 1"),
    ("therapist", "Therapist 2"),
    ("therapist", "Therapist 3"),
    ("assistant", "Assistant"),
    ("researcher", "Researcher"),
)
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


@dataclass(frozen=True, slots=True)
class DemoSummary:
    clinics: int
    users: int
    patients: int
    rows: int
    content_hash: str
    logins: tuple[tuple[str, str, str], ...]


@dataclass
class _Ids:
    """Next explicit id per table, read once from the database."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class _Batch:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass(frozen=True, slots=True)
class _Staff:
    clinic_id: int
    therapists: tuple[int, ...]
    assistant: int


def logins(*, session: Session) -> list[tuple[str, str, str]]:
    """The demo accounts present in the database: (clinic, role, email)."""
    domains = tuple(f"@{slug}.example" for _, slug in CLINICS)
    rows = session.execute(
        select(Clinic.name, User.role, User.email)
        .join(Clinic, Clinic.id == User.clinic_id)
        .order_by(Clinic.id, User.id)
    ).all()
    return [(c, r, e) for c, r, e in rows if e.endswith(domains)]


def is_empty(*, session: Session) -> bool:
    """Whether the database holds no clinic yet (``make run`` loads the demo only then)."""
    return session.scalar(select(func.count(Clinic.id))) == 0


def load(
    *,
    session: Session,
    patients: int = 240,
    seed: int = DEFAULT_SEED,
    anchor: date | None = None,
    progress: Callable[[int], None] | None = None,
    hash_content: bool = False,
) -> DemoSummary:
    """Write the demo clinics, staff and ``patients`` patients with their whole histories.

    With ``hash_content`` every row written feeds a SHA-256 digest, so two loads can be
    proved identical; it costs about a tenth of the load time, so it is off by default.
    """
    rng = random.Random(seed)
    anchor = anchor or datetime.now(UTC).date()
    digest: Any = hashlib.sha256(f"{seed}:{anchor.isoformat()}:{patients}".encode())
    if not hash_content:
        digest = _NoDigest()
    ids = _Ids(
        {
            t.name: _next_id(session, t)
            for t in Base.metadata.sorted_tables
            if "id" in t.c and t.name != "audit_event"
        }
    )
    staff, logins = _staff(session, rng, ids, digest, anchor)
    _bulk_mode(session)
    gen = _Generator(rng=rng, ids=ids, anchor=anchor)
    total = 0
    gc.disable()  # millions of short-lived dicts: cyclic GC passes only cost time here
    try:
        for done, batch in _chunks(gen, staff, patients):
            total += _write(session, batch, digest)
            if progress:
                progress(done)
    finally:
        gc.enable()
    _reset_sequences(session)
    return DemoSummary(
        clinics=len(staff),
        users=len(logins),
        patients=patients,
        rows=total,
        content_hash=digest.hexdigest(),
        logins=tuple(logins),
    )


def _next_id(session: Session, table: Table) -> int:
    return int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _chunks(gen: _Generator, staff: list[_Staff], total: int) -> Iterator[tuple[int, _Batch]]:
    for start in range(0, total, CHUNK):
        batch = _Batch()
        for index in range(start, min(start + CHUNK, total)):
            gen.patient(batch, staff[index % len(staff)], index)
        yield min(start + CHUNK, total), batch


class _NoDigest:
    """Stands in for the digest when content hashing is off."""

    def update(self, data: bytes) -> None:
        del data

    def hexdigest(self) -> str:
        return ""


def _write(session: Session, batch: _Batch, digest: Any) -> int:
    count = 0
    hashing = not isinstance(digest, _NoDigest)
    for table in Base.metadata.sorted_tables:
        rows = batch.rows.get(table.name)
        if not rows:
            continue
        if hashing:  # salted password hashes differ by design, so they stay out of the digest
            for row in rows:
                digest.update(
                    repr(sorted(i for i in row.items() if i[0] != "password_hash")).encode()
                )
        if session.get_bind().dialect.name == "postgresql":
            _copy(session, table, rows)
        else:
            session.execute(insert(table), rows)
        count += len(rows)
    return count


def _bulk_mode(session: Session) -> None:
    """On PostgreSQL, skip per-row foreign-key triggers for this transaction, as pg_restore's
    --disable-triggers does: the generator builds every reference from rows it has just written
    (and the SQLite load, which keeps foreign keys on, proves it in the tests). Needs a
    superuser; without one the load simply runs with the checks."""
    if session.get_bind().dialect.name != "postgresql":
        return
    is_super = session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    if is_super:
        session.execute(text("SET LOCAL session_replication_role = replica"))


def _copy(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: an order of magnitude faster than INSERT for bulk synthetic rows."""
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
    driver = session.connection().connection.driver_connection
    assert driver is not None, "a live PostgreSQL connection"
    names = ", ".join(f'"{c}"' for c in columns)
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c]) if c in as_json and row[c] is not None else row[c]
                    for c in columns
                ]
            )


def _reset_sequences(session: Session) -> None:
    """Explicit ids bypass PostgreSQL's sequences; move them past the rows just written."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.autoincrement:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                )
            )


def _staff(
    session: Session, rng: random.Random, ids: _Ids, digest: Any, anchor: date
) -> tuple[list[_Staff], list[tuple[str, str, str]]]:
    password_hash = auth.hash_password(DEMO_PASSWORD, demo=True)
    created = datetime.combine(anchor - timedelta(days=400), time(8), UTC)
    staff, logins, batch = [], [], _Batch()
    for name, slug in CLINICS:
        clinic_id = ids.take("clinic")
        batch.add(
            "clinic",
            {
                "id": clinic_id,
                "external_id": _uuid(rng),
                "name": name,
                "timezone": "UTC",
                "created_at": created,
            },
        )
        users: dict[str, list[int]] = {}
        for role, label in STAFF:
            user_id = ids.take("app_user")
            email = f"{label.lower().replace(' ', '')}@{slug}.example"
            batch.add(
                "app_user",
                _user_row(
                    user_id,
                    rng,
                    clinic_id,
                    email,
                    f"{label} ({name})",
                    role,
                    password_hash,
                    created,
                ),
            )
            users.setdefault(role, []).append(user_id)
            logins.append((name, role, email))
        staff.append(_Staff(clinic_id, tuple(users["therapist"]), users["assistant"][0]))
    _write(session, batch, digest)
    return staff, logins


def _user_row(
    user_id: int,
    rng: random.Random,
    clinic_id: int,
    email: str,
    display: str,
    role: str,
    password_hash: str,
    created: datetime,
) -> dict[str, Any]:
    return {
        "id": user_id,
        "external_id": _uuid(rng),
        "clinic_id": clinic_id,
        "email": email,
        "display_name": display,
        "role": role,
        "password_hash": password_hash,
        "active": True,
        "password_changed_at": None,
        "created_at": created,
        "version": 1,
        "updated_at": created,
    }


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class _Generator:
    """Builds one patient's whole history into a batch of rows."""

    def __init__(self, *, rng: random.Random, ids: _Ids, anchor: date) -> None:
        self.rng, self.ids, self.anchor = rng, ids, anchor
        self.indications = {i.code: i for i in catalog.indications()}
        self.sites = catalog.body_sites()
        self.exercises = catalog.exercises()
        self.strokes = [s.code for s in catalog.strokes()]
        self.instruments = [t.code for t in catalog.instrument_types()]
        self.rule_set = catalog.catalog_versions()["screening_rules.json"]
        self.rule_ids = [r.id for r in catalog.screening_rules()]

    def patient(self, batch: _Batch, staff: _Staff, index: int) -> None:
        rng = self.rng
        therapist = staff.therapists[index % len(staff.therapists)]
        pid = self.ids.take("patient")
        start = self.anchor - timedelta(days=rng.randint(0, 300))
        created = _at(start, 8)
        batch.add(
            "patient",
            {
                "id": pid,
                "external_id": _uuid(rng),
                "clinic_id": staff.clinic_id,
                "record_number": f"DEMO-{index + 1:06d}",
                "given_name": rng.choice(GIVEN),
                "family_name": rng.choice(FAMILY),
                "birth_date": date(rng.randint(1945, 2006), rng.randint(1, 12), rng.randint(1, 28)),
                "sex": rng.choice(("female", "male", "female", "male", "other")),
                "phone": None,
                "email": None,
                "notes": "Synthetic demo patient.",
                "created_by_id": therapist,
                **_meta(created),
            },
        )
        episode = _EpisodeBuilder(self, batch, staff, therapist, pid, start)
        episode.build()


def _meta(created: datetime, versioned: bool = True, in_error: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {"created_at": created}
    if versioned:
        row |= {"version": 1, "updated_at": created}
    if in_error:
        row |= {
            "entered_in_error_at": None,
            "entered_in_error_reason": None,
            "entered_in_error_by_id": None,
        }
    return row


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


class _EpisodeBuilder:
    """One episode: screening, consent, visits with areas, readings and outcomes."""

    def __init__(
        self,
        gen: _Generator,
        batch: _Batch,
        staff: _Staff,
        therapist: int,
        patient_id: int,
        start: date,
    ) -> None:
        self.gen, self.batch, self.staff = gen, batch, staff
        self.rng, self.ids = gen.rng, gen.ids
        self.therapist, self.patient_id, self.start = therapist, patient_id, start
        code = self.rng.choices(CONDITIONS, CONDITION_WEIGHTS)[0]
        self.indication = gen.indications[code]
        self.measure = measures.get_measure(self.indication.suggested_measure)
        self.kind, self.delta = _trajectory(self.rng)
        self.baseline = self.rng.uniform(0.45, 0.75)
        self.approach = self.rng.choices(
            ("iastm", "manual_therapy", "exercise_only"), (0.7, 0.15, 0.15)
        )[0]
        self.sites = [s for s in gen.sites if s.region == self.indication.body_region]

    def build(self) -> None:
        rng = self.rng
        n_visits = rng.randint(4, 12)
        days = self._visit_days(n_visits)
        discharged = days[-1] < self.gen.anchor - timedelta(days=7)
        self.episode_id = self.ids.take("episode")
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
        side = {"right": "right", "left": "left"}.get(ind.laterality, "na")
        return {
            "id": self.episode_id,
            "external_id": _uuid(self.rng),
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
            **_meta(_at(days[0], 8)),
        }

    def _screening_and_consent(self) -> None:
        rng, when = self.rng, _at(self.start, 8, 5)
        precaution = rng.random() < 0.15
        answers = {
            rule: {"present": rule == "R1" and precaution, "regions": []}
            for rule in self.gen.rule_ids
        }
        self.batch.add(
            "screening",
            {
                "id": self.ids.take("screening"),
                "external_id": _uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "patient_id": self.patient_id,
                "episode_id": self.episode_id,
                "visit_id": None,
                "kind": "intake",
                "rule_set_version": self.gen.rule_set,
                "answers": answers,
                "result_status": "precautions" if precaution else "clear",
                "result": {
                    "status": "precautions" if precaution else "clear",
                    "blocked_regions": {},
                    "systemic_blocks": [],
                    "precautions": ["R1"] if precaution else [],
                },
                "reasoning": "Anticoagulated; light pressure only." if precaution else None,
                "dose_modification": "Gentle intensity, no vigorous strokes."
                if precaution
                else None,
                "screened_by_id": self.therapist,
                "screened_at": when,
                **_meta(when, versioned=False),
            },
        )
        text_ = _consent_text(self.indication.title)
        self.batch.add(
            "consent",
            {
                "id": self.ids.take("consent"),
                "external_id": _uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "patient_id": self.patient_id,
                "episode_id": self.episode_id,
                "decision": "granted",
                "text_version": text_.version,
                "text_sha256": text_.sha256,
                "text": text_.text,
                "recorded_by_id": self.therapist,
                "decided_at": when,
                "withdrawn_at": None,
                "sequence": 1,
                **_meta(when, versioned=False),
            },
        )

    def _badness(self, number: int, total: int) -> float:
        progress = 1 - math.exp(-(number - 1) / 2.5)
        value = self.baseline * (1 - self.delta * progress / (1 - math.exp(-(total - 1) / 2.5)))
        return min(1.0, max(0.0, value + self.rng.gauss(0, 0.025)))

    def _visit(self, number: int, day: date, total: int, *, open_visit: bool) -> None:
        rng = self.rng
        started = _at(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))
        visit_id = self.ids.take("visit")
        badness = self._badness(number, total)
        iastm = self.approach == "iastm"
        check = iastm and not open_visit and rng.random() < RELIABILITY_SHARE
        self.batch.add(
            "visit",
            {
                "id": visit_id,
                "external_id": _uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "episode_id": self.episode_id,
                "patient_id": self.patient_id,
                "therapist_id": self.therapist,
                "number": number,
                "started_at": started,
                "ended_at": None if open_visit else started + timedelta(minutes=45),
                "status": "in_progress" if open_visit else "signed",
                "phase": "treat" if open_visit else "document",
                "tolerance_limit": 6,
                "reliability_check": check,
                "techniques": ["iastm"] if iastm else [self.approach],
                "pre_test": "",
                "post_test": "",
                "subjective": f"Reports pain {round(badness * 10)}/10 with daily tasks.",
                "objective": "See treated areas and measures.",
                "assessment": "Tolerated treatment.",
                "plan": "Continue plan of care; home programme as prescribed.",
                "signed_at": None if open_visit else started + timedelta(minutes=50),
                "signed_by_id": None if open_visit else self.therapist,
                **_meta(started),
            },
        )
        if iastm and not open_visit:
            for area in range(rng.choice((1, 2, 2))):
                self._area(visit_id, started + timedelta(minutes=10 + 4 * area), check)
        self._exercises(visit_id, started)
        self._outcomes(visit_id, number, total, started, badness)

    def _area(self, visit_id: int, when: datetime, check: bool) -> None:
        rng, site = self.rng, self.rng.choice(self.sites)
        area_id = self.ids.take("treated_area")
        readings = [rng.randint(1, 4), rng.randint(2, 6)]
        stop = rng.random()
        reason, note = ("completed", None)
        if stop < 0.06:
            readings.append(6)
            reason = "tolerance_reached"
        elif stop < 0.09:
            reason, note = "patient_request", "Asked to stop."
        grade = rng.choices(
            ("none", "erythema", "petechiae", "ecchymosis"), (0.2, 0.65, 0.12, 0.03)
        )[0]
        if grade == "petechiae" and reason == "completed":
            reason = "petechiae"
        self.batch.add(
            "treated_area",
            {
                "id": area_id,
                "external_id": _uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "visit_id": visit_id,
                "body_site": site.code,
                "body_region": site.region,
                "side": self.rng.choice(("left", "right")) if site.paired else "midline",
                "instrument_type": rng.choice(self.gen.instruments),
                "instrument_id": None,
                "strokes": rng.sample(self.gen.strokes, 2),
                "angle_deg": rng.choice((30, 45, 60)),
                "intensity": rng.choice(("gentle", "moderate")),
                "seconds": rng.randint(45, 150),
                "status": "stopped",
                "stop_reason": reason,
                "stop_note": note,
                "stopped_at": when + timedelta(minutes=3),
                "warnings": [],
                **_meta(when),
            },
        )
        for i, value in enumerate(readings):
            self.batch.add(
                "discomfort_reading",
                {
                    "id": self.ids.take("discomfort_reading"),
                    "external_id": _uuid(rng),
                    "clinic_id": self.staff.clinic_id,
                    "treated_area_id": area_id,
                    "recorded_by_id": self.therapist,
                    "value": value,
                    "patient_asked_to_stop": reason == "patient_request" and i == len(readings) - 1,
                    "created_at": when + timedelta(seconds=30 * (i + 1)),
                },
            )
        self._finding(visit_id, area_id, site, when, self.therapist)
        if check:  # a colleague examines independently; they agree on the site most of the time
            other = next(t for t in self.staff.therapists if t != self.therapist)
            second = site if rng.random() < 0.7 else rng.choice(self.sites)
            self._finding(visit_id, area_id, second, when, other)
        self._skin(area_id, grade, when)

    def _finding(
        self, visit_id: int, area_id: int, site: Any, when: datetime, recorded_by: int
    ) -> None:
        rng = self.rng
        view, pos = ("front", site.front) if site.front else ("back", site.back)
        self.batch.add(
            "restriction_finding",
            {
                "id": self.ids.take("restriction_finding"),
                "external_id": _uuid(rng),
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
                **_meta(when, versioned=False),
            },
        )

    def _skin(self, area_id: int, grade: str, when: datetime) -> None:
        rng = self.rng
        self.batch.add(
            "skin_response",
            {
                "id": self.ids.take("skin_response"),
                "external_id": _uuid(rng),
                "clinic_id": self.staff.clinic_id,
                "treated_area_id": area_id,
                "recorded_by_id": self.therapist,
                "grade": grade,
                "notes": None,
                "resolved_at": when + timedelta(days=3) if grade == "ecchymosis" else None,
                **_meta(when, versioned=False),
            },
        )
        if grade == "ecchymosis":
            self.batch.add(
                "adverse_event",
                {
                    "id": self.ids.take("adverse_event"),
                    "external_id": _uuid(rng),
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
                    **_meta(when),
                },
            )

    def _exercises(self, visit_id: int, when: datetime) -> None:
        rng = self.rng
        region = self.indication.body_region
        choices = [e for e in self.gen.exercises if region in e.regions] or list(self.gen.exercises)
        for ex in rng.sample(choices, min(2, len(choices))):
            self.batch.add(
                "exercise_prescription",
                {
                    "id": self.ids.take("exercise_prescription"),
                    "external_id": _uuid(rng),
                    "clinic_id": self.staff.clinic_id,
                    "visit_id": visit_id,
                    "exercise_code": ex.code,
                    "sets": ex.sets or 1,
                    "repetitions": ex.reps,
                    "hold_seconds": ex.hold_seconds,
                    "frequency": ex.frequency or "daily",
                    "notes": None,
                    "details": {},
                    **_meta(when, versioned=False),
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
                "external_id": _uuid(self.rng),
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
                **_meta(when, versioned=False),
            },
        )


@functools.cache
def _consent_text(condition_title: str) -> consent.ConsentText:
    return consent.build_consent_text(condition_title, "IASTM with active motion and exercise")


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
