"""Billing for the whole visit: time per code, units by the clinic's rule, superbill, day CSV.

IASTM areas are manual therapy, so their recorded seconds count under 97140 together with any
other manual therapy time recorded against 97140. Minutes are counted down from seconds
(core.billing), and untimed codes never add to the timed minutes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from strigil.core import billing
from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import editable, get_owned
from strigil.store import clinics as clinic_store
from strigil.store import visits as store
from strigil.store.visits import BillingLine, TreatedArea, Visit

MAX_SECONDS = 3 * 3600


def compute(
    visit: Visit,  # noqa: ARG001 - kept so callers read as "the charges of this visit"
    areas: Sequence[TreatedArea],
    lines: Sequence[BillingLine],
    rule: str = "cms",
) -> billing.VisitCharges:
    """The visit's charges from its areas and billing lines (entered-in-error rows excluded)."""
    timed: dict[str, int] = {}
    iastm = sum(a.seconds for a in areas if a.entered_in_error_at is None)
    if iastm:
        timed[billing.CPT_MANUAL_THERAPY] = iastm
    untimed: list[str] = []
    for line in lines:
        if line.entered_in_error_at is not None:
            continue
        if line.seconds is None:
            untimed.append(line.code)
        else:
            timed[line.code] = timed.get(line.code, 0) + line.seconds
    return billing.visit_charges(timed, untimed, rule)


def timed_seconds(areas: Sequence[TreatedArea], lines: Sequence[BillingLine]) -> int:
    """All timed seconds recorded at the visit (IASTM areas and timed billing lines)."""
    return sum(a.seconds for a in areas if a.entered_in_error_at is None) + sum(
        ln.seconds or 0 for ln in lines if ln.entered_in_error_at is None
    )


def visit_length(visit: Visit) -> int | None:
    """Seconds between the recorded start and end, or None while no end is recorded."""
    if visit.ended_at is None:
        return None
    return int((visit.ended_at - visit.started_at).total_seconds())


def check_within_visit(visit: Visit, total_seconds: int, field: str) -> None:
    """Refuse timed work longer than the visit itself (once its end time is recorded)."""
    length = visit_length(visit)
    if length is not None and total_seconds > length:
        raise InvalidInput(
            f"the timed work recorded ({total_seconds // 60} min) would exceed the visit's "
            f"length ({length // 60} min)",
            field=field,
            code="over_visit_length",
        )


def lines_of(session: Session, visit: Visit) -> Sequence[BillingLine]:
    """The visit's billing lines (entered-in-error ones left out)."""
    return store.list_billing_lines(session, visit.clinic_id, visit.id)


def _check_line(code: billing.Code, seconds: int | None, existing: Sequence[BillingLine]) -> None:
    if not code.timed:
        if seconds:
            raise InvalidInput(
                f"{code.code} is untimed: it is billed once, without minutes",
                field="seconds",
                code="untimed_code",
            )
        if any(ln.code == code.code for ln in existing):
            raise InvalidInput(
                f"{code.code} is already on this visit", field="code", code="duplicate_code"
            )
        return
    if seconds is None or isinstance(seconds, bool) or not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(
            f"time on {code.code} must be from 0:01 to {MAX_SECONDS // 60}:00",
            field="seconds",
            code="out_of_range",
        )


def add_line(
    *, session: Session, actor: Actor, visit_id: object, code: str, seconds: int | None
) -> BillingLine:
    """Record time on a timed code (or an untimed code) for the visit.

    Raises:
        InvalidInput: a code not in the catalogue, minutes missing or out of range, more time
            than the visit lasted.  Conflict: the note is signed.
    """
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    known = billing.code(code.strip())
    existing = lines_of(session, visit)
    _check_line(known, seconds, existing)
    areas = store.list_areas(session, visit.clinic_id, visit.id)
    total = timed_seconds(areas, existing) + (seconds or 0)
    check_within_visit(visit, total, "seconds")
    row = BillingLine(
        clinic_id=actor.clinic_id,
        visit_id=visit.id,
        recorded_by_id=actor.user_id,
        code=known.code,
        seconds=seconds if known.timed else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="billing_line",
        entity_id=row.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"visit": str(visit.external_id), "code": known.code},
    )
    return row


def for_visit(session: Session, visit: Visit, rule: str) -> billing.VisitCharges:
    """The visit's charges under ``rule``, from its areas and billing lines."""
    areas = store.list_areas(session, visit.clinic_id, visit.id)
    return compute(visit, areas, lines_of(session, visit), rule)


@dataclass(frozen=True, slots=True)
class DayCharge:
    visit: Visit
    therapist: str
    charges: billing.VisitCharges


def day_charges(*, session: Session, actor: Actor, on: date) -> list[DayCharge]:
    """Every visit of the clinic started on a (UTC) day, with its charges."""
    require(actor, Permission.READ_CLINICAL)
    start = datetime.combine(on, time.min, tzinfo=UTC)
    visits = store.list_visits_started_between(
        session, actor.clinic_id, start, start + timedelta(days=1)
    )
    clinic = clinic_store.get_clinic(session, actor.clinic_id)
    names = clinic_store.user_names(session, actor.clinic_id)
    out = [
        DayCharge(v, names.get(v.therapist_id, ""), for_visit(session, v, clinic.billing_rule))
        for v in visits
    ]
    audit.record(
        session=session,
        actor=actor,
        action="list",
        entity_type="charges",
        detail={"day": on.isoformat(), "visits": len(out)},
    )
    return out


CSV_COLUMNS = (
    "date",
    "visit_id",
    "patient",
    "therapist",
    "status",
    "code",
    "description",
    "timed",
    "minutes",
    "units",
    "rule",
)


def _cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def day_csv(rows: Sequence[DayCharge]) -> str:
    """The day's charges, one line per code per visit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        v = row.visit
        for line in row.charges.lines:
            writer.writerow(
                [
                    _cell(x)
                    for x in (
                        v.started_at.date().isoformat(),
                        v.external_id,
                        v.episode.patient.display_name,
                        row.therapist,
                        v.status,
                        line.code,
                        line.label,
                        "yes" if line.timed else "no",
                        line.minutes if line.minutes is not None else "",
                        line.units,
                        row.charges.rule.value,
                    )
                ]
            )
    return buffer.getvalue()
