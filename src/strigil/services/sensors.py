"""A treated area's dose as measured by an instrumented tool, and the dose intended for it.

Why here: a recording becomes part of the clinical record, so it goes through the same
checks as any entry in a visit (the therapist's role, the clinic, a visit still open, an area
not entered in error) and leaves an audit row. The raw file is kept under the data folder,
named by its SHA-256 digest, and the row stores the digest, so the figures can be recomputed
and the file checked. A precaution that caps intensity caps the measured peak force too
(sensors/force_caps.json); a recording above the cap is stored and flagged, never refused:
the force was applied, and the note must say so.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.sensors import Dose, analyze, parse_csv, parse_sidecar
from strigil.sensors.caps import force_cap_for, force_caps
from strigil.sensors.recording import MAX_ABS_FORCE_N, Recording, Sidecar
from strigil.services import audit, screenings
from strigil.services.actors import Actor, Permission, require
from strigil.services.auth import actor_for
from strigil.services.records import editable, get_owned
from strigil.store import clinics as clinic_store
from strigil.store import sensors as store
from strigil.store import visits as visit_store
from strigil.store.sensors import IntendedDose, SensorRecording
from strigil.store.visits import TreatedArea, Visit

RECORDINGS_DIR = "recordings"
MAX_FILE_BYTES = 64 * 1024 * 1024  # a 10-minute 1 kHz recording is about 15 MB


@dataclass(frozen=True, slots=True)
class ForceCap:
    """The peak force the precautions allow on an area, and why (empty when none)."""

    peak_n: float | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IntendedInput:
    force_min_n: float | None = None
    force_max_n: float | None = None
    strokes: int | None = None
    time_under_load_s: float | None = None


def _area(session: Session, actor: Actor, treated_area_id: object) -> tuple[TreatedArea, Visit]:
    area = get_owned(session, TreatedArea, treated_area_id, actor, field="treated_area_id")
    visit = visit_store.get_visit(session, actor.clinic_id, area.visit_id)
    editable(visit)
    return area, visit


def force_cap(
    session: Session, visit: Visit, overrides: Mapping[str, float] | None = None
) -> ForceCap:
    """The strictest screening cap on intensity for this visit, in newtons."""
    caps = screenings.effective_result(session, visit.episode, visit).caps
    peak = force_cap_for(caps.intensity, force_caps(overrides))
    return ForceCap(peak, tuple(caps.reasons) if peak is not None else ())


def actor_by_email(session: Session, email: str) -> Actor:
    """The services' view of the user with this sign-in email (for CLI commands)."""
    user = clinic_store.find_user_by_email(session, email.strip().lower())
    if user is None or not getattr(user, "active", True):
        raise NotFound(f"no active user with email {email}", field="user", code="user_not_found")
    return actor_for(user)


def attach_file(
    *,
    session: Session,
    user_email: str,
    treated_area_id: object,
    path: Path,
    data_dir: Path,
    cap_overrides: Mapping[str, float] | None = None,
) -> SensorRecording:
    """Record the file at ``path`` (and its sidecar) as the area's measured dose."""
    actor = actor_by_email(session, user_email)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(
                f"the recording is larger than {MAX_FILE_BYTES // 2**20} MB", field="file"
            )
        content = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the recording: {error.strerror}", field="file") from None
    side = path.with_suffix(".json")
    sidecar_text = side.read_text(encoding="utf-8") if side.is_file() else None
    return record_file(
        session=session,
        actor=actor,
        treated_area_id=treated_area_id,
        content=content,
        file_name=path.name,
        sidecar_text=sidecar_text,
        data_dir=data_dir,
        cap_overrides=cap_overrides,
    )


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the recording is not UTF-8 text", field="file") from None


def record_file(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    content: bytes,
    file_name: str,
    sidecar_text: str | None,
    data_dir: Path,
    cap_overrides: Mapping[str, float] | None = None,
) -> SensorRecording:
    """Check, analyse, keep the file and store the dose; nothing is written on bad input."""
    require(actor, Permission.TREAT)
    area, visit = _area(session, actor, treated_area_id)
    sidecar = parse_sidecar(sidecar_text) if sidecar_text is not None else Sidecar()
    recording = parse_csv(_decode(content), sidecar)
    dose = analyze(recording)
    cap = force_cap(session, visit, cap_overrides)
    digest = hashlib.sha256(content).hexdigest()
    stored = _keep(data_dir, actor.clinic_id, digest, content, sidecar_text)
    row = _row(actor, area, recording, dose, cap, digest, stored, file_name, source="file")
    session.add(row)
    session.flush()
    _audit(session, actor, visit, row)
    return row


def _keep(
    data_dir: Path, clinic_id: int, digest: str, content: bytes, sidecar_text: str | None
) -> str:
    """Write the raw file (content-addressed, so a retry writes the same bytes to the same name)
    and return its path relative to the data folder. A rolled-back attach leaves at most an
    unreferenced copy, never a row without its file."""
    relative = Path(RECORDINGS_DIR) / str(clinic_id) / f"{digest}.csv"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        partial = target.with_suffix(".partial")
        partial.write_bytes(content)
        os.replace(partial, target)
    if sidecar_text is not None:
        target.with_suffix(".json").write_text(sidecar_text, encoding="utf-8")
    return relative.as_posix()


def _row(
    actor: Actor,
    area: TreatedArea,
    recording: Recording,
    dose: Dose,
    cap: ForceCap,
    digest: str,
    stored: str,
    file_name: str,
    *,
    source: str,
) -> SensorRecording:
    exceeded = (
        cap.peak_n is not None and dose.peak_force_n is not None and dose.peak_force_n > cap.peak_n
    )
    return SensorRecording(
        clinic_id=actor.clinic_id,
        treated_area_id=area.id,
        recorded_by_id=actor.user_id,
        source=source,
        file_name=file_name[:200],
        file_digest=digest,
        stored_path=stored,
        samples=recording.samples,
        duration_s=float(recording.t_s[-1] - recording.t_s[0]),
        tool=recording.sidecar.tool[:200] if recording.sidecar.tool else None,
        threshold_n=dose.threshold_n,
        strokes=dose.strokes,
        stroke_rate_hz=dose.stroke_rate_hz,
        time_under_load_s=dose.time_under_load_s,
        mean_force_n=dose.mean_force_n,
        peak_force_n=dose.peak_force_n,
        impulse_ns=dose.impulse_ns,
        mean_angle_deg=dose.mean_angle_deg,
        stroke_list=dose.to_json()["stroke_list"],
        force_cap_n=cap.peak_n,
        cap_reasons=list(cap.reasons),
        cap_exceeded=exceeded,
    )


def set_intended(
    *, session: Session, actor: Actor, treated_area_id: object, data: IntendedInput
) -> IntendedDose:
    """Set (or replace) the dose the therapist intends for an area."""
    require(actor, Permission.TREAT)
    area, visit = _area(session, actor, treated_area_id)
    _check_intended(data)
    row = store.intended_for_areas(session, actor.clinic_id, [area.id]).get(area.id)
    if row is None:
        row = IntendedDose(clinic_id=actor.clinic_id, treated_area_id=area.id)
        session.add(row)
    row.set_by_id = actor.user_id
    row.force_min_n, row.force_max_n = data.force_min_n, data.force_max_n
    row.strokes, row.time_under_load_s = data.strokes, data.time_under_load_s
    session.flush()
    _audit(session, actor, visit, row)
    return row


def _check_intended(data: IntendedInput) -> None:
    for name in ("force_min_n", "force_max_n"):
        value = getattr(data, name)
        if value is not None and not 0 < value <= MAX_ABS_FORCE_N:
            raise InvalidInput(f"{name} must be above 0 and at most 500 N", field=name)
    low, high = data.force_min_n, data.force_max_n
    if low is not None and high is not None and low > high:
        raise InvalidInput("force_min_n must not exceed force_max_n", field="force_min_n")
    if data.strokes is not None and (
        isinstance(data.strokes, bool) or not 1 <= data.strokes <= 10_000
    ):
        raise InvalidInput("strokes must be a whole number from 1 to 10000", field="strokes")
    tul = data.time_under_load_s
    if tul is not None and not 0 < tul <= 3600:
        raise InvalidInput(
            "time_under_load_s must be above 0 and at most 3600", field="time_under_load_s"
        )
    if all(getattr(data, n) is None for n in ("force_min_n", "force_max_n", "strokes",
                                              "time_under_load_s")):  # fmt: skip
        raise InvalidInput("give a force range, a stroke count or a time under load", field="dose")


def recordings_for_visit(session: Session, visit: Visit) -> Sequence[SensorRecording]:
    """The visit's measured doses, oldest first (one query)."""
    area_ids = [a.id for a in visit_store.list_areas(session, visit.clinic_id, visit.id)]
    return store.recordings_for_areas(session, visit.clinic_id, area_ids)


def summary(row: SensorRecording) -> str:
    """The sentence the note states: "42 strokes, mean 5.8 N, peak 9.6 N, 26 s under load"."""
    noun = "stroke" if row.strokes == 1 else "strokes"
    if row.strokes == 0 or row.mean_force_n is None or row.peak_force_n is None:
        return "0 strokes measured above the contact threshold"
    return (
        f"{row.strokes} {noun}, mean {row.mean_force_n:.1f} N, peak {row.peak_force_n:.1f} N, "
        f"{row.time_under_load_s:.0f} s under load"
    )


def cap_note(row: SensorRecording) -> str | None:
    """Words for a cap exceedance, or None when the peak stayed within the cap."""
    if not row.cap_exceeded or row.force_cap_n is None or row.peak_force_n is None:
        return None
    why = f" ({'; '.join(row.cap_reasons)})" if row.cap_reasons else ""
    return (
        f"peak {row.peak_force_n:.1f} N exceeded the precaution cap of {row.force_cap_n:g} N{why}"
    )


def recording_json(row: SensorRecording) -> dict[str, Any]:
    """A stored dose for the CLI and the API."""
    return {
        "id": str(row.external_id),
        "file_name": row.file_name,
        "file_digest": row.file_digest,
        "samples": row.samples,
        "strokes": row.strokes,
        "stroke_rate_hz": row.stroke_rate_hz,
        "time_under_load_s": row.time_under_load_s,
        "mean_force_n": row.mean_force_n,
        "peak_force_n": row.peak_force_n,
        "impulse_ns": row.impulse_ns,
        "mean_angle_deg": row.mean_angle_deg,
        "force_cap_n": row.force_cap_n,
        "cap_exceeded": row.cap_exceeded,
        "cap_note": cap_note(row),
        "summary": summary(row),
    }


@dataclass(frozen=True, slots=True)
class RecordingTrace:
    """A stored recording with its samples read back from the kept file (digest checked)."""

    row: SensorRecording
    patient_id: uuid.UUID
    visit_id: uuid.UUID
    area_id: uuid.UUID
    t_s: npt.NDArray[np.float64]
    fz_n: npt.NDArray[np.float64]
    summary: str


def recording_with_trace(
    *, session: Session, actor: Actor, recording_id: object, data_dir: Path
) -> RecordingTrace:
    """Load a recording of the actor's clinic and its kept file; refuse a file that changed."""
    require(actor, Permission.READ_CLINICAL)
    row = get_owned(session, SensorRecording, recording_id, actor, field="recording_id")
    area = visit_store.get_area(session, actor.clinic_id, row.treated_area_id)
    visit = visit_store.get_visit(session, actor.clinic_id, area.visit_id)
    try:
        content = (data_dir / row.stored_path).read_bytes()
    except OSError:
        raise Conflict(
            "the recording's file is missing from the data folder", code="recording_file_missing"
        ) from None
    if hashlib.sha256(content).hexdigest() != row.file_digest:
        raise Conflict(
            "the recording's file no longer matches its digest", code="recording_file_changed"
        )
    recording = parse_csv(_decode(content))
    return RecordingTrace(
        row=row,
        patient_id=visit.episode.patient.external_id,
        visit_id=visit.external_id,
        area_id=area.external_id,
        t_s=recording.t_s,
        fz_n=recording.fz_n,
        summary=summary(row),
    )


def _audit(
    session: Session, actor: Actor, visit: Visit, row: SensorRecording | IntendedDose
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type=row.__tablename__,
        entity_id=row.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"visit": str(visit.external_id)},
    )
