"""FHIR R4 over HTTP: a patient's ``$everything`` and the Bulk Data ``$export`` flow.

Same sign-in (bearer token or session) and clinic isolation as the JSON API: every route
takes the actor, and the services check the role and the clinic of every record and job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from strigil.services import fhir_export
from strigil.web import handler_thread, hostile
from strigil.web.deps import CurrentActor, DbSession, SettingsDep

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"

router = handler_thread.router(tags=["fhir"], dependencies=[Depends(hostile.refuse_nul)])


@router.get("/Patient/{patient_id}/$everything")
def everything(
    patient_id: str, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> Response:
    """The patient's whole record as a FHIR Bundle (measured doses with their force traces)."""
    bundle = fhir_export.patient_bundle(
        session=db, actor=actor, patient_id=patient_id, data_dir=settings.data_dir
    )
    return JSONResponse(bundle, media_type=FHIR_JSON)


@router.get("/$export")
def kick_off(
    request: Request,
    actor: CurrentActor,
    settings: SettingsDep,
    since: Annotated[str | None, Query(alias="_since", max_length=40)] = None,
    types: Annotated[str | None, Query(alias="_type", max_length=400)] = None,
    patient: Annotated[str | None, Query(max_length=40_000)] = None,
) -> Response:
    """Start a bulk export of the clinic (or of the ``patient`` ids, comma-separated): 202
    with the status URL in Content-Location. Answers asynchronously whatever ``Prefer`` says."""
    filters = fhir_export.parse_filter(
        since=since, types=types, patients=patient.split(",") if patient is not None else None
    )
    job = fhir_export.start_export(
        actor=actor,
        sessions=request.app.state.sessionmaker,
        root=settings.data_dir / "exports",
        filters=filters,
        request=str(request.url),
        data_dir=settings.data_dir,
    )
    status = str(request.url_for("export_status").include_query_params(job=job.key))
    return Response(status_code=202, headers={"Content-Location": status})


@router.get("/$export-status", name="export_status")
def export_status(
    request: Request, actor: CurrentActor, job: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """202 while the export runs; 200 with the manifest (a URL and count per type) when done."""
    found = fhir_export.find_job(actor=actor, key=job)
    if not found.done:
        return Response(status_code=202, headers={"X-Progress": "in progress", "Retry-After": "2"})
    error = found.future.exception()
    if error is not None:
        return JSONResponse(_outcome(f"the export failed: {type(error).__name__}"), 500)
    return JSONResponse(_manifest(request, found, found.future.result()))


@router.get("/$export-file", name="export_file")
def export_file(
    db: DbSession,
    actor: CurrentActor,
    job: Annotated[str, Query(max_length=64)] = "",
    type: Annotated[str, Query(max_length=40)] = "",  # noqa: A002 - the Bulk Data name
) -> Response:
    """One NDJSON file of a finished export."""
    path = fhir_export.job_file(session=db, actor=actor, key=job, kind=type)
    return FileResponse(path, media_type=NDJSON)


def _manifest(request: Request, job: fhir_export.ExportJob, counts: dict[str, int]) -> Any:
    def url(kind: str) -> str:
        return str(request.url_for("export_file").include_query_params(job=job.key, type=kind))

    return {
        "transactionTime": job.started_at.isoformat(),
        "request": job.request,
        "requiresAccessToken": True,
        "output": [{"type": k, "url": url(k), "count": n} for k, n in sorted(counts.items())],
        "error": [],
    }


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception", "diagnostics": text}],
    }
