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

import fcntl
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

from strigil.core.note_facts import IntendedDose as IntendedFact
from strigil.core.note_facts import MeasuredDose as MeasuredFact
from strigil.core.note_facts import treating_phase
from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.sensors import Dose, analyze, parse_csv, parse_sidecar
from strigil.sensors.caps import force_cap_for, force_caps
from strigil.sensors.dose import dose_from_strokes
from strigil.sensors.recording import MAX_ABS_FORCE_N, Recording, Sidecar, validate_arrays
from strigil.sensors.strokes import segment
from strigil.services import audit, notes, screenings
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
    phase: str = "treating",
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
        phase=phase,
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
    phase: str = "treating",
) -> SensorRecording:
    """Check, analyse, keep the file and store the dose; nothing is written on bad input.

    ``phase`` says why it was recorded: "treating" (the dose, held against the intended one)
    or "exploring" (a light pass to find the restriction, stated but not compared).
    """
    require(actor, Permission.TREAT)
    if phase not in store.PHASES:
        raise InvalidInput(
            f"phase must be one of {', '.join(store.PHASES)}, not '{phase}'",
            field="phase",
            code="unknown_phase",
        )
    area, visit = _area(session, actor, treated_area_id)
    sidecar = parse_sidecar(sidecar_text) if sidecar_text is not None else Sidecar()
    recording = parse_csv(_decode(content), sidecar)
    dose = analyze(recording)
    cap = force_cap(session, visit, cap_overrides)
    digest = hashlib.sha256(content).hexdigest()
    stored = _keep(data_dir, actor.clinic_id, digest, content, sidecar_text)
    row = _row(actor, area, recording, dose, cap, digest, stored, file_name, source="file")
    row.phase = phase
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
        "phase": row.phase,
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
class DoseView:
    """A stored dose as the area's card shows it, compared with the intended dose."""

    id: uuid.UUID
    source: str
    summary: str
    cap_note: str | None
    phase: str = "treating"


def dose_views(recordings: Sequence[SensorRecording]) -> dict[int, list[DoseView]]:
    """Each area's stored doses, oldest first (by area row id)."""
    out: dict[int, list[DoseView]] = {}
    for row in recordings:
        out.setdefault(row.treated_area_id, []).append(
            DoseView(
                id=row.external_id,
                source=row.source,
                summary=summary(row),
                cap_note=cap_note(row),
                phase=row.phase,
            )
        )
    return out


def dose_comparisons(
    recordings: Sequence[SensorRecording], intended: Mapping[int, IntendedFact]
) -> dict[int, str]:
    """Per area with an intended dose and a treating recording: how the treating phase (all its
    recordings together) differs from the intended dose, or "as intended". Exploring passes
    are not held against the treatment target."""
    measured: dict[int, list[MeasuredFact]] = {}
    for row in recordings:
        measured.setdefault(row.treated_area_id, []).append(notes.measured_fact(row))
    out = {}
    for area_id, wanted in intended.items():
        treating = treating_phase(measured.get(area_id, []))
        if treating is not None:
            out[area_id] = "; ".join(wanted.deviations(treating)) or "as intended"
    return out


def intended_json(row: IntendedDose) -> dict[str, Any]:
    """An intended dose for the API."""
    return {
        "force_min_n": row.force_min_n,
        "force_max_n": row.force_max_n,
        "strokes": row.strokes,
        "time_under_load_s": row.time_under_load_s,
        "summary": notes.intended_fact(row).describe(),
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
    recording = kept_recording(row, data_dir)
    return RecordingTrace(
        row=row,
        patient_id=visit.episode.patient.external_id,
        visit_id=visit.external_id,
        area_id=area.external_id,
        t_s=recording.t_s,
        fz_n=recording.fz_n,
        summary=summary(row),
    )


def kept_recording(row: SensorRecording, data_dir: Path) -> Recording:
    """The recording's kept file, read back; refused when it is missing or no longer matches
    the digest stored with the figures."""
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
    return parse_csv(_decode(content))


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


# ---------------------------------------------------------------------------------------------
# live streaming from a device bridge (ADR 0016): JSON batches appended to the active area's
# stream file as raw float64 rows (t_s, fz_n, angle_deg), analysed on demand, stored as a
# recording when the stream is finished.

STREAM_DIR = "streams"
MAX_BATCH = 10_000
_ROW = 3  # float64 values per sample in the stream file
TRACE_SECONDS = 5.0
TRACE_POINTS = 200
READ_AUDIT_SECONDS = 60.0  # reads of a running dose are audited once a minute per user and area


def _stream_path(data_dir: Path, clinic_id: int, area: TreatedArea) -> Path:
    return data_dir / RECORDINGS_DIR / str(clinic_id) / STREAM_DIR / f"{area.external_id}.f64"


def _batch_columns(batch: Mapping[str, Any]) -> dict[str, npt.NDArray[np.float64]]:
    """Check a batch's shape and types; physical ranges are checked by the recording rules."""
    if not isinstance(batch, Mapping):
        raise InvalidInput("a batch is a JSON object of columns", field="batch")
    unknown = set(batch) - {"t_s", "fz_n", "angle_deg"}
    if unknown:
        raise InvalidInput(f"unknown column '{sorted(unknown)[0]}' in the batch", field="batch")
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for name in ("t_s", "fz_n", "angle_deg"):
        values = batch.get(name)
        if values is None:
            if name == "angle_deg":
                continue
            raise InvalidInput(f"the batch has no '{name}' column", field=name)
        ok = isinstance(values, list) and all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        )
        if not ok:
            raise InvalidInput(f"'{name}' must be a list of numbers (null for a gap)", field=name)
        columns[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    n = columns["t_s"].shape[0]
    if not 1 <= n <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1 to {MAX_BATCH} samples", field="t_s")
    if any(c.shape[0] != n for c in columns.values()):
        raise InvalidInput("every column of a batch must have the same length", field="batch")
    return columns


def append_stream(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    batch: Mapping[str, Any],
    data_dir: Path,
) -> int:
    """Append a batch to the active area's stream; returns the samples now in the stream.

    Refused (and nothing written) when the area is not active, belongs to another clinic, the
    batch breaks a recording rule, or its time does not continue after the stream's last sample.
    """
    require(actor, Permission.TREAT)
    area, visit = _area(session, actor, treated_area_id)
    _require_active(area)
    columns = _batch_columns(batch)
    recording = validate_arrays(columns, Sidecar(), first_line=1)
    angle = recording.angle_deg
    if angle is None:
        angle = np.full_like(recording.t_s, np.nan)
    rows = np.column_stack([recording.t_s, recording.fz_n, angle])
    path = _stream_path(data_dir, actor.clinic_id, area)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # one writer per stream, across server processes
        size = handle.seek(0, os.SEEK_END)
        if size >= 8 * _ROW:
            handle.seek(size - 8 * _ROW)
            last_t = float(np.frombuffer(handle.read(8 * _ROW), dtype=np.float64)[0])
            if recording.t_s[0] <= last_t:
                raise InvalidInput(
                    f"the batch starts at t_s {recording.t_s[0]:g}, not after the stream's "
                    f"last sample ({last_t:g}); time must strictly increase",
                    field="t_s",
                    code="time_not_increasing",
                )
        handle.seek(0, os.SEEK_END)
        handle.write(rows.astype(np.float64).tobytes())
        total = (size + rows.nbytes) // (8 * _ROW)
    if size == 0:  # audited when the stream starts; finishing stores an audited recording
        _audit_stream(session, actor, visit, area, "create")
    return int(total)


def _require_active(area: TreatedArea) -> None:
    if area.status != "active":
        raise Conflict(
            "this area is not being treated now (it was stopped); a stream needs an active area",
            code="area_not_active",
        )


def _read_stream(path: Path) -> npt.NDArray[np.float64]:
    if not path.is_file():
        return np.zeros((0, _ROW))
    raw = np.fromfile(path, dtype=np.float64)
    return raw[: raw.shape[0] - raw.shape[0] % _ROW].reshape(-1, _ROW)


def live_dose(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    data_dir: Path,
    cap_overrides: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The running dose of the area's stream: figures, the cap, and the last seconds' trace."""
    require(actor, Permission.READ_CLINICAL)
    area = get_owned(session, TreatedArea, treated_area_id, actor, field="treated_area_id")
    visit = visit_store.get_visit(session, actor.clinic_id, area.visit_id)
    rows = _read_stream(_stream_path(data_dir, actor.clinic_id, area))
    t, f, angle = rows[:, 0], rows[:, 1], rows[:, 2]
    has_angle = bool(rows.shape[0]) and not np.isnan(angle).all()
    dose = dose_from_strokes(segment(t, f, angle if has_angle else None))
    cap = force_cap(session, visit, cap_overrides)
    peak = dose.peak_force_n
    exceeded = cap.peak_n is not None and peak is not None and peak > cap.peak_n
    recent = t >= (t[-1] - TRACE_SECONDS) if t.size else np.zeros(0, dtype=bool)
    step = max(1, int(np.count_nonzero(recent)) // TRACE_POINTS)
    audit.record_at_most_every(  # the page polls every second: one row a minute (ADR 0016)
        session=session,
        actor=actor,
        seconds=READ_AUDIT_SECONDS,
        action="read",
        entity_type="sensor_stream",
        entity_id=area.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"visit": str(visit.external_id)},
    )
    body = dose.to_json()
    body.pop("stroke_list")
    return body | {
        "samples": int(t.shape[0]),
        "duration_s": float(t[-1] - t[0]) if t.size else 0.0,
        "active": area.status == "active",
        "force_cap_n": cap.peak_n,
        "cap_exceeded": exceeded,
        "summary": dose.summary(),
        "trace": [None if np.isnan(v) else round(float(v), 2) for v in f[recent][::step]],
    }


def finish_stream(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    data_dir: Path,
    cap_overrides: Mapping[str, float] | None = None,
) -> SensorRecording:
    """Store the area's stream as a recording (source "stream"); the buffer is set aside."""
    require(actor, Permission.TREAT)
    area, _ = _area(session, actor, treated_area_id)
    path = _stream_path(data_dir, actor.clinic_id, area)
    rows = _read_stream(path)
    if rows.shape[0] == 0:
        raise Conflict("no samples have been streamed for this area", code="stream_empty")
    content = _stream_csv(rows).encode("utf-8")
    row = record_file(
        session=session,
        actor=actor,
        treated_area_id=treated_area_id,
        content=content,
        file_name=f"stream-{area.external_id}.csv",
        sidecar_text=None,
        data_dir=data_dir,
        cap_overrides=cap_overrides,
    )
    row.source = "stream"
    os.replace(path, path.with_suffix(f".{row.file_digest[:12]}.stored"))
    return row


def _stream_csv(rows: npt.NDArray[np.float64]) -> str:
    def cell(value: float, fmt: str) -> str:
        return "" if np.isnan(value) else format(value, fmt)

    has_angle = not np.isnan(rows[:, 2]).all()
    head = "t_s,fz_n,angle_deg" if has_angle else "t_s,fz_n"
    lines = [head]
    for t, f, a in rows.tolist():
        parts = [format(t, ".6f"), cell(f, ".4f")] + ([cell(a, ".2f")] if has_angle else [])
        lines.append(",".join(parts))
    return "\n".join(lines) + "\n"


def _audit_stream(
    session: Session, actor: Actor, visit: Visit, area: TreatedArea, action: str
) -> None:
    """The start of a stream (its first batch)."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="sensor_stream",
        entity_id=area.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"visit": str(visit.external_id)},
    )


def finish_if_ended(
    *,
    session: Session,
    actor: Actor,
    area: TreatedArea,
    data_dir: Path,
    cap_overrides: Mapping[str, float] | None = None,
) -> SensorRecording | None:
    """When an area has just ended with samples streamed to it, store them as its dose.

    Called by the adapters after a stop (explicit, or by the stop rule on a reading). A role
    that may stop an area but not treat (an assistant) leaves the stream for the therapist.
    """
    if area.status == "active" or not actor.can(Permission.TREAT):
        return None
    path = _stream_path(data_dir, actor.clinic_id, area)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    return finish_stream(
        session=session,
        actor=actor,
        treated_area_id=area.external_id,
        data_dir=data_dir,
        cap_overrides=cap_overrides,
    )
