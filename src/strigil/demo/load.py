"""Loading the demo clinic: two clinics, their staff, and synthetic patients in bulk.

Rows are written in bulk with explicit ids so that a hundred thousand patients load in a few
minutes. Bulk writing skips the services' per-row work (audit rows, flushes), not their rules:
every visit is simulated through the same core rules the services apply (``demo.visits``),
and a test re-checks every demo row against them.

Patients are built a chunk at a time (``demo.chunks``); from ``WORKERS_FROM`` on, worker processes
build and encode the chunks while this process writes the ones before, with a bounded number in
flight so memory stays flat. Every patient has its own random stream and id block, so the rows
are the same whatever the number of workers.
"""

from __future__ import annotations

import gc
import hashlib
import os
import random
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from strigil.demo import chunks, daybook, instrumented
from strigil.demo.rows import Batch, Ids, Signer, Staff, new_uuid
from strigil.services import auth
from strigil.store.clinics import Clinic, User
from strigil.store.models import Base

DEMO_PASSWORD = auth.DEMO_PASSWORD  # synthetic demo accounts only
DEFAULT_SEED = 20261126
CHUNK = 200
WORKERS_FROM = 1_000  # patients; below this, starting worker processes costs more than it saves
IN_FLIGHT = 2  # chunks per worker submitted ahead of the writer
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
    workers: int | None = None,
) -> DemoSummary:
    """Write the demo clinics, staff and ``patients`` patients with their whole histories.

    With ``hash_content`` every row written feeds a SHA-256 digest, so two loads can be
    proved identical; it costs about a tenth of the load time, so it is off by default.
    With ``data_dir`` (where recordings are kept) one therapist's open visits get instrumented
    areas (``demo.instrumented``). ``workers`` processes build the patients (0: this process
    does; None: one per CPU from ``WORKERS_FROM`` patients on); the rows do not depend on it.
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
    staff, logins, signers = _staff(session, rng, ids, digest, anchor)
    base = ids.next  # the patients' id blocks start past the staff
    _bulk_mode(session)
    specs = [
        chunks.ChunkSpec(
            seed=seed,
            anchor=anchor,
            base=tuple(sorted(base.items())),
            staff=tuple(staff),
            signers=tuple(sorted(signers.items())),
            start=start,
            stop=min(start + CHUNK, patients),
            dialect=session.get_bind().dialect.name,
            hashing=hash_content,
        )
        for start in range(0, patients, CHUNK)
    ]
    total = 0
    gc.disable()  # millions of short-lived objects: cyclic GC passes only cost time here
    try:
        for chunk in _built(specs, _workers(workers, patients)):
            total += _write_chunk(session, chunk, digest)
            if progress:
                progress(chunk.stop)
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


def _workers(asked: int | None, patients: int) -> int:
    if asked is not None:
        return max(0, min(asked, os.cpu_count() or 1))
    return (os.cpu_count() or 1) if patients >= WORKERS_FROM else 0


def _built(specs: list[chunks.ChunkSpec], workers: int) -> Iterator[chunks.Chunk]:
    """The chunks in order: built here, or by ``workers`` spawned processes with at most
    ``IN_FLIGHT`` chunks a worker submitted ahead, so memory stays flat at any size."""
    if workers == 0:
        yield from map(chunks.build, specs)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending: deque[Future[chunks.Chunk]] = deque()
        for spec in specs:
            pending.append(pool.submit(chunks.build, spec))
            if len(pending) >= workers * IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _NoDigest:
    """Stands in for the digest when content hashing is off."""

    def update(self, data: bytes) -> None:
        del data

    def hexdigest(self) -> str:
        return ""


def _write(session: Session, batch: Batch, digest: Any) -> int:
    """Write a batch built in this process (the staff)."""
    dialect = session.get_bind().dialect.name
    hashing = not isinstance(digest, _NoDigest)
    built = chunks.Chunk(0, chunks.encode(batch, dialect), chunks.digest_of(batch, hashing))
    return _write_chunk(session, built, digest)


def _write_chunk(session: Session, chunk: chunks.Chunk, digest: Any) -> int:
    """Stream an encoded chunk to the database; its digest feeds the load's."""
    digest.update(chunk.digest.encode())
    postgres = session.get_bind().dialect.name == chunks.POSTGRESQL
    for table in chunk.tables:
        names = ", ".join(f'"{c}"' for c in table.columns)
        if postgres:
            _copy(session, table.table, names, table.payload)
        else:
            marks = ", ".join("?" for _ in table.columns)
            session.connection().exec_driver_sql(
                f'INSERT INTO "{table.table}" ({names}) VALUES ({marks})', table.payload
            )
    return sum(t.count for t in chunk.tables)


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


def _copy(session: Session, table: str, names: str, payload: Any) -> None:
    """PostgreSQL's COPY: an order of magnitude faster than INSERT for bulk synthetic rows;
    the text was formatted where the chunk was built."""
    driver = session.connection().connection.driver_connection
    assert driver is not None, "a live PostgreSQL connection"
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        copy.write(payload)


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
) -> tuple[list[Staff], list[tuple[str, str, str]], dict[int, Signer]]:
    password_hash = auth.hash_password(DEMO_PASSWORD, demo=True)
    created = datetime.combine(anchor - timedelta(days=400), time(8), UTC)
    staff, logins, batch = [], [], Batch()
    signers: dict[int, Signer] = {}
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
            signers[user_id] = Signer(f"{label} ({name})", role, CREDENTIALS.get(role) or None)
            logins.append((name, role, email))
        staff.append(Staff(clinic_id, tuple(users["therapist"]), users["assistant"][0]))
    _write(session, batch, digest)
    return staff, logins, signers


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
