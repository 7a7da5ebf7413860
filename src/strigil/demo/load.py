"""Loading the demo clinic: two clinics, their staff, and synthetic patients in bulk.

Rows are written in bulk with explicit ids so that ten thousand patients load in well under a
minute. Bulk writing skips the services' per-row work (audit rows, flushes), not their rules:
every visit is simulated through the same core rules the services apply (``demo.visits``),
and a test re-checks every demo row against them.
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.orm import Session

from strigil.demo import daybook, instrumented
from strigil.demo.patients import Generator
from strigil.demo.rows import Batch, Ids, Staff, new_uuid
from strigil.services import auth
from strigil.store.clinics import Clinic, User
from strigil.store.models import Base

DEMO_PASSWORD = auth.DEMO_PASSWORD  # synthetic demo accounts only
DEFAULT_SEED = 20261126
CHUNK = 200
CLINICS = (("Northside Physical Therapy", "northside"), ("Riverside Sports Rehab", "riverside"))
# Invented letterheads: 555-01xx numbers are reserved for fiction in the North American plan.
LETTERHEADS = {
    "northside": ("14 Harbour Road, Northside, EX1 2AB", "555-0142"),
    "riverside": ("3 Mill Lane, Riverside, EX9 8CD", "555-0177"),
}
CREDENTIALS = {"therapist": "PT, DPT", "assistant": "PTA"}
STAFF = (
    ("admin", "Admin"),
    ("therapist", "Therapist 1"),
    ("therapist", "Therapist 2"),
    ("therapist", "Therapist 3"),
    ("assistant", "Assistant"),
    ("researcher", "Researcher"),
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    clinics: int
    users: int
    patients: int
    rows: int
    content_hash: str
    logins: tuple[tuple[str, str, str], ...]


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
    data_dir: Path | None = None,
) -> DemoSummary:
    """Write the demo clinics, staff and ``patients`` patients with their whole histories.

    With ``hash_content`` every row written feeds a SHA-256 digest, so two loads can be
    proved identical; it costs about a tenth of the load time, so it is off by default.
    With ``data_dir`` (where recordings are kept) one therapist's open visits get instrumented
    areas (``demo.instrumented``).
    """
    rng = random.Random(seed)
    anchor = anchor or datetime.now(UTC).date()
    digest: Any = hashlib.sha256(f"{seed}:{anchor.isoformat()}:{patients}".encode())
    if not hash_content:
        digest = _NoDigest()
    ids = Ids(
        {
            t.name: _next_id(session, t)
            for t in Base.metadata.sorted_tables
            if "id" in t.c and t.name != "audit_event"
        }
    )
    staff, logins = _staff(session, rng, ids, digest, anchor)
    _bulk_mode(session)
    gen = Generator(rng=rng, ids=ids, anchor=anchor)
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
    daybook.book_day(session=session, clinic_ids=[s.clinic_id for s in staff], day=anchor)
    if data_dir is not None:
        clinic_id = staff[0].clinic_id
        instrumented.instrument(session=session, clinic_id=clinic_id, data_dir=data_dir, seed=seed)
    session.execute(text("ANALYZE"))  # fresh statistics, as autovacuum would gather later
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


def _chunks(gen: Generator, staff: list[Staff], total: int) -> Iterator[tuple[int, Batch]]:
    for start in range(0, total, CHUNK):
        batch = Batch()
        for index in range(start, min(start + CHUNK, total)):
            gen.patient(batch, staff[index % len(staff)], index)
        yield min(start + CHUNK, total), batch


class _NoDigest:
    """Stands in for the digest when content hashing is off."""

    def update(self, data: bytes) -> None:
        del data

    def hexdigest(self) -> str:
        return ""


def _write(session: Session, batch: Batch, digest: Any) -> int:
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
    session: Session, rng: random.Random, ids: Ids, digest: Any, anchor: date
) -> tuple[list[Staff], list[tuple[str, str, str]]]:
    password_hash = auth.hash_password(DEMO_PASSWORD, demo=True)
    created = datetime.combine(anchor - timedelta(days=400), time(8), UTC)
    staff, logins, batch = [], [], Batch()
    for name, slug in CLINICS:
        clinic_id = ids.take("clinic")
        batch.add(
            "clinic",
            {
                "id": clinic_id,
                "external_id": new_uuid(rng),
                "name": name,
                "timezone": "UTC",
                "address": LETTERHEADS[slug][0],
                "phone": LETTERHEADS[slug][1],
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
        staff.append(Staff(clinic_id, tuple(users["therapist"]), users["assistant"][0]))
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
        "external_id": new_uuid(rng),
        "clinic_id": clinic_id,
        "email": email,
        "display_name": display,
        "role": role,
        "credentials": CREDENTIALS.get(role, ""),
        "password_hash": password_hash,
        "active": True,
        "password_changed_at": None,
        "created_at": created,
        "version": 1,
        "updated_at": created,
    }
