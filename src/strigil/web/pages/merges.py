"""Chart merge pages: fold a duplicate chart into the one shown, and undo a merge."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from strigil.errors import InvalidInput
from strigil.services import merges, patients
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, errors_of, go, text
from strigil.web.pages.patients import can_merge, chart_context
from strigil.web.pages.render import page

router = handler_thread.router()


@router.post("/patients/{patient_id}/merge", response_model=None)
def merge_into(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Merge the duplicate chart named by its record number into this chart."""
    values = {name: text(form, name) for name in ("duplicate_record_number", "reason")}
    try:
        merges.merge_by_record_number(
            session=db,
            actor=actor,
            target_id=patient_id,
            record_number=values["duplicate_record_number"],
            reason=values["reason"],
        )
    except InvalidInput as error:
        patient = patients.get(session=db, actor=actor, patient_id=patient_id)
        ctx = chart_context(db, actor, patient, 1) | {
            "can_merge": can_merge(actor),
            "merge_values": values,
            "merge_errors": errors_of(error),
        }
        return page(request, "patients/detail.html", ctx, status_code=422)
    return go(request, f"/patients/{patient_id}")


@router.post("/patient-merges/{merge_id}/undo", response_model=None)
def undo_merge(
    request: Request, merge_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Undo a merge (it is marked entered-in-error); back to the restored chart."""
    row = merges.unmerge(session=db, actor=actor, merge_id=merge_id, reason=text(form, "reason"))
    source = patients.public_id(session=db, actor=actor, row_id=row.source_patient_id)
    return go(request, f"/patients/{source}")
