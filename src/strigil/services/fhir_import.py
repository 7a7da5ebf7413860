"""FHIR import: a Bundle file or an NDJSON folder into one clinic, all or nothing.

Why two passes: every resource is validated with the ``fhir.resources`` R4B models first, and
one invalid resource refuses the whole input with errors naming the resource, its place and
the field; only then are rows written, in the caller's one transaction. Patients are matched
on their record-number identifier, so importing the same file twice adds nobody twice;
practitioners are matched on name, credentials and role.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy.orm import Session

from strigil.core import fhir_codes as codes
from strigil.core import integrity
from strigil.errors import InvalidInput
from strigil.services import audit, clinics, notes
from strigil.services import fhir as mapping
from strigil.store import clinics as clinic_store
from strigil.store import fhir as store
from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import Clinic, Instrument
from strigil.store.episodes import Consent, Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient, match_keys
from strigil.store.visits import (
    DiscomfortReading,
    ExercisePrescription,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
    VisitMeasurement,
)

Resource = dict[str, Any]
MAX_ERRORS = 50
CHUNK = 1000
UNUSABLE_PASSWORD = "!imported: no password; an admin sets one before first sign-in"  # noqa: S105


# ------------------------------------------------------------------ reading the input


@dataclass(frozen=True)
class Source:
    """A Bundle file or an NDJSON folder, read by resource type (a folder streams its files)."""

    path: Path

    def entries(self) -> Iterator[tuple[str, Resource]]:
        """(where, resource) for every resource, ``where`` naming the file and the place."""
        if self.path.is_dir():
            for file in sorted(self.path.glob("*.ndjson")):
                yield from _lines(file)
            return
        bundle = _read_bundle(self.path)
        for i, entry in enumerate(bundle.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            yield f"entry[{i}]", resource if isinstance(resource, dict) else {}

    def raw_entries(self) -> Iterator[Entry]:
        """Like :meth:`entries`, but a folder's resources stay unparsed NDJSON lines, so the
        validating worker processes, not this one, spend the time parsing them."""
        if not self.path.is_dir():
            yield from self.entries()
            return
        for file in sorted(self.path.glob("*.ndjson")):
            with file.open(encoding="utf-8") as lines:
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        yield f"{file.name} line {number}", line

    def of_type(self, kind: str) -> Iterator[Resource]:
        for _, resource in self.entries_of(kind):
            yield resource

    def entries_of(self, kind: str) -> Iterator[tuple[str, Resource]]:
        if self.path.is_dir():
            for file in sorted(self.path.glob("*.ndjson")):
                if file.name.split(".")[0].split("-")[0] == kind:
                    yield from _lines(file)
            return
        for where, resource in self.entries():
            if resource.get("resourceType") == kind:
                yield where, resource


Entry = tuple[str, Resource | str]
"""(where, resource): the resource still as its NDJSON line when read for validation."""


def _lines(file: Path) -> Iterator[tuple[str, Resource]]:
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                where = f"{file.name} line {number}"
                yield where, _parse(where, line)


def _parse(where: str, line: str) -> Resource:
    """One NDJSON line as a resource; InvalidInput naming the line if it is not JSON."""
    try:
        resource = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{where}: not JSON ({exc.msg})", field="json", code="invalid_fhir"
        ) from None
    return resource if isinstance(resource, dict) else {}


def _read_bundle(path: Path) -> Resource:
    if not path.exists():
        raise InvalidInput(f"no such file or folder: {path.name}", field="path", code="not_found")
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{path.name} is not JSON ({exc})", field="path", code="invalid_fhir"
        ) from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidInput(
            f"{path.name} is not a FHIR Bundle", field="resourceType", code="invalid_fhir"
        )
    _check_version(bundle)
    return bundle


def _check_version(bundle: Resource) -> None:
    """Refuse a Bundle that declares a FHIR version other than R4 (or R4B)."""
    tags = (bundle.get("meta") or {}).get("tag") or []
    for tag in tags:
        if isinstance(tag, dict) and tag.get("system") == codes.VERSION_TAG_SYSTEM:
            version = str(tag.get("code"))
            if version not in codes.ACCEPTED_VERSIONS:
                raise InvalidInput(
                    f"the Bundle is FHIR {version}; Strigil reads FHIR R4 (4.0.1)",
                    field="meta.tag",
                    code="wrong_fhir_version",
                )


# ------------------------------------------------------------------ validation


@dataclass
class Validation:
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    total_errors: int = 0

    def add(self, message: str) -> None:
        self.total_errors += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


PARALLEL_BYTES = 20_000_000
"""An NDJSON folder larger than this is validated by a pool of worker processes: validation
costs about a millisecond a resource, and a big clinic has a million of them."""
PARALLEL_CHUNK = 2000


@dataclass
class ChunkReport:
    """What a worker found in its run of resources: errors, resources per type, and the
    first line that is not JSON (which refuses the input at once, as reading it would)."""

    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    not_json: str | None = None


def validate_source(source: Source, progress: Callable[[int], None] | None = None) -> Validation:
    """Every resource checked against the R4B models; nothing is written."""
    result = Validation()
    if not source.path.is_dir():
        _validate_bundle_shell(source.path, result)
    chunks = _chunks(source.raw_entries())
    workers = min(os.cpu_count() or 1, 2)
    if source.path.is_dir() and workers > 1 and _size(source.path) > PARALLEL_BYTES:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            in_flight: deque[Future[ChunkReport]] = deque()
            done = 0
            for chunk in chunks:  # a few chunks in flight at a time: memory stays bounded
                in_flight.append(pool.submit(check_chunk, chunk))
                if len(in_flight) > 2 * workers:
                    done += 1
                    _collect(result, in_flight.popleft().result(), done, progress)
            while in_flight:
                done += 1
                _collect(result, in_flight.popleft().result(), done, progress)
    else:
        for done, chunk in enumerate(chunks, start=1):
            _collect(result, check_chunk(chunk), done, progress)
    return result


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.ndjson"))


def _chunks(entries: Iterator[Entry]) -> Iterator[list[Entry]]:
    chunk: list[Entry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= PARALLEL_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _collect(
    result: Validation, report: ChunkReport, done: int, progress: Callable[[int], None] | None
) -> None:
    if report.not_json is not None:
        raise InvalidInput(report.not_json, field="json", code="invalid_fhir")
    for message in report.errors:
        result.add(message)
    for kind, n in report.counts.items():
        result.counts[kind] = result.counts.get(kind, 0) + n
    if progress:
        progress(done * PARALLEL_CHUNK)


def check_chunk(chunk: list[Entry]) -> ChunkReport:
    """The errors of a run of resources, each naming its place, type, id and field (a worker
    process's job, so module level and picklable); NDJSON lines are parsed here."""
    report = ChunkReport()
    for where, item in chunk:
        try:
            resource = _parse(where, item) if isinstance(item, str) else item
        except InvalidInput as error:
            report.not_json = error.detail
            return report
        kind = str(resource.get("resourceType", ""))
        report.counts[kind] = report.counts.get(kind, 0) + 1
        label = f"{where} {kind or '(no resourceType)'}/{resource.get('id', '?')}"
        if kind not in mapping.RESOURCE_TYPES:
            report.errors.append(f"{label}: resourceType: not a type Strigil imports")
            continue
        try:
            mapping.validate(resource)
        except InvalidInput as error:
            report.errors.append(f"{label}: {error.detail.split(': ', 1)[-1]}")
    return report


def _validate_bundle_shell(path: Path, result: Validation) -> None:
    """The Bundle itself (without its entries, validated one by one) must be valid too."""
    bundle = dict(_read_bundle(path))
    bundle["entry"] = [
        {"fullUrl": e.get("fullUrl")} if isinstance(e, dict) else {}
        for e in bundle.get("entry") or []
    ]
    bundle["entry"] = [{k: v for k, v in e.items() if v} for e in bundle["entry"]]
    bundle["entry"] = [e for e in bundle["entry"] if e] or None
    try:
        mapping.validate({k: v for k, v in bundle.items() if v is not None})
    except InvalidInput as error:
        result.add(f"Bundle: {error.detail.split(': ', 1)[-1]}")


# ------------------------------------------------------------------ writing


def _key(reference: Resource | None) -> str | None:
    """The id a ``Type/id`` reference points to."""
    if not reference or not isinstance(reference.get("reference"), str):
        return None
    return str(reference["reference"]).rsplit("/", 1)[-1]


def _ext(resource: Resource, name: str) -> list[Resource]:
    url = codes.extension_url(name)
    return [e for e in resource.get("extension") or [] if e.get("url") == url]


def _one(resource: Resource, name: str, value: str, default: Any = None) -> Any:
    found = _ext(resource, name)
    return found[0].get(value, default) if found else default


def _code(concept_: Resource | None, system: str) -> str | None:
    for c in (concept_ or {}).get("coding") or []:
        if c.get("system") == system:
            return str(c.get("code"))
    return None


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _side(site: Resource) -> str | None:
    side = _one(site, "side", "valueCode")
    return str(side) if side else None


def _b64_text(data: str) -> str:
    return base64.b64decode(data).decode("utf-8")


@dataclass
class Importer:
    """Writes validated resources into ``clinic``, remembering new row ids by source id."""

    session: Session
    clinic: Clinic
    ids: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    visit_owner: dict[int, tuple[int, int]] = field(default_factory=dict)
    visit_seal: dict[int, tuple[uuid.UUID, int, datetime]] = field(default_factory=dict)
    area_visit: dict[int, int] = field(default_factory=dict)
    answers: dict[str, list[Any]] = field(default_factory=dict)
    _fallback_user: int | None = None

    def row(self, kind: str, reference: Resource | str | None) -> int | None:
        key = reference if isinstance(reference, str) else _key(reference)
        return self.ids.get(kind, {}).get(key) if key else None

    def user(self, reference: Resource | None) -> int:
        found = self.row("Practitioner", reference)
        return found if found is not None else self.fallback_user()

    def fallback_user(self) -> int:
        """A named stand-in for rows whose recorder the input does not name."""
        if self._fallback_user is None:
            user = _add_user(
                self.session, self.clinic, "Imported (recorder not named)", "", "therapist"
            )
            self._fallback_user = user
        return self._fallback_user

    def insert(self, kind: str, model: type[Any], rows: list[tuple[str, Resource]]) -> None:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            new = store.insert_rows(
                self.session, model, [{"clinic_id": self.clinic.id, **r} for _, r in chunk]
            )
            table = self.ids.setdefault(kind, {})
            for (key, _), row_id in zip(chunk, new, strict=True):
                table[key] = row_id
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1


def _add_user(session: Session, clinic: Clinic, name: str, credentials: str, role: str) -> int:
    user = clinics.add_user(
        session=session,
        clinic=clinic,
        email=f"imported-{uuid.uuid4().hex}@import.invalid",
        display_name=name,
        role=role if role in ("therapist", "assistant", "admin", "researcher") else "therapist",
        password="",
        password_hash=UNUSABLE_PASSWORD,
        credentials=credentials,
    )
    user.active = False
    return user.id


def _practitioners(imp: Importer, source: Source) -> None:
    existing = {
        (u.display_name, u.credentials, u.role): u.id
        for u in clinic_store.list_users(imp.session, imp.clinic.id)
    }
    for r in source.of_type("Practitioner"):
        name = str((r.get("name") or [{}])[0].get("text", "")) or "Imported practitioner"
        quals = r.get("qualification") or [{}]
        credentials = (
            str((quals[0].get("code") or {}).get("text", "")) if "code" in quals[0] else ""
        )
        credentials = "" if credentials == "licence" else credentials
        role = str(_one(r, "role", "valueCode", "therapist"))
        key = (name, credentials, role)
        if key not in existing:
            existing[key] = _add_user(imp.session, imp.clinic, name, credentials, role)
            imp.counts["Practitioner"] = imp.counts.get("Practitioner", 0) + 1
        imp.ids.setdefault("Practitioner", {})[r["id"]] = existing[key]


def _devices(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("Device"):
        label = str((r.get("deviceName") or [{}])[0].get("name", "instrument"))
        rows.append(
            (
                r["id"],
                {
                    "label": label,
                    "type_code": _code(r.get("type"), codes.INSTRUMENT_SYSTEM) or "unknown",
                    "family": (r.get("type") or {}).get("text"),
                },
            )
        )
    imp.insert("Device", Instrument, rows)


def _patients(imp: Importer, source: Source) -> None:
    pending: list[tuple[str, Resource]] = []
    for r in source.of_type("Patient"):
        number = next(
            (
                i["value"]
                for i in r.get("identifier") or []
                if i.get("system") == codes.RECORD_NUMBER_SYSTEM
            ),
            None,
        )
        name = (r.get("name") or [{}])[0]
        telecom = {t.get("system"): t.get("value") for t in r.get("telecom") or []}
        row = {
            "record_number": number or f"P-{uuid.uuid4().hex[:10].upper()}",
            "given_name": " ".join(name.get("given") or []) or "(not given)",
            "family_name": name.get("family") or "(not given)",
            "birth_date": _day(r.get("birthDate")) or date(1900, 1, 1),
            "sex": r.get("gender") or "unknown",
            "phone": telecom.get("phone"),
            "email": telecom.get("email"),
        }
        pending.append((r["id"], row | match_keys(row)))
    taken = store.record_numbers(
        imp.session, imp.clinic.id, [p["record_number"] for _, p in pending]
    )
    fresh = [(k, p) for k, p in pending if p["record_number"] not in taken]
    imp.skipped["Patient"] = len(pending) - len(fresh)
    imp.insert("Patient", Patient, fresh)
    for key, row in fresh:
        audit.record(
            session=imp.session,
            actor=None,
            clinic_id=imp.clinic.id,
            action="import",
            entity_type="patient",
            entity_id=key,
            patient_id=key,
            detail={"format": "fhir", "record_number": row["record_number"]},
        )


def _conditions(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("Condition"):
        patient = imp.row("Patient", r.get("subject"))
        if patient is None:
            imp.skip("Condition")
            continue
        site = (r.get("bodySite") or [{}])[0]
        coding_: Resource = next(
            (c for c in r["code"]["coding"] if c.get("system") == codes.ICD10CM), {}
        )
        rows.append(
            (
                r["id"],
                {
                    "patient_id": patient,
                    "therapist_id": imp.user(r.get("asserter")),
                    "condition_code": coding_.get("code", ""),
                    "condition_title": r["code"].get("text") or coding_.get("display", ""),
                    "condition_group": _one(r, "condition-group", "valueCode"),
                    "body_region": _code(site, codes.BODY_REGION_SYSTEM) or "",
                    "side": _side(site) or "na",
                    "onset_on": _day(r.get("onsetDateTime")),
                    "chronicity": _one(r, "chronicity", "valueCode", "chronic"),
                    "goals": ((r.get("note") or [{}])[0]).get("text", ""),
                    "primary_measure": _one(r, "primary-measure", "valueCode", "NPRS"),
                    "approach": _one(r, "approach", "valueCode", "iastm"),
                    "status": "active"
                    if _code(r.get("clinicalStatus"), codes.CONDITION_CLINICAL) == "active"
                    else "discharged",
                    "started_on": _day(r.get("recordedDate")) or date.today(),
                    "ended_on": _day(r.get("abatementDateTime")),
                },
            )
        )
    imp.insert("Condition", Episode, rows)


def _consents(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("Consent"):
        patient = imp.row("Patient", r.get("patient"))
        episode = imp.row("Condition", _one(r, "episode", "valueReference"))
        if patient is None or episode is None:
            imp.skip("Consent")
            continue
        attachment = r.get("sourceAttachment") or {}
        rows.append(
            (
                r["id"],
                {
                    "patient_id": patient,
                    "episode_id": episode,
                    "decision": _one(r, "decision", "valueCode", "granted"),
                    "text_version": _one(r, "text-version", "valueString", ""),
                    "text_sha256": _one(r, "text-sha256", "valueString", ""),
                    "text": _b64_text(attachment["data"]) if attachment.get("data") else "",
                    "recorded_by_id": imp.user(_one(r, "recorded-by", "valueReference")),
                    "decided_at": _instant(r.get("dateTime")),
                    "withdrawn_at": _instant(_one(r, "withdrawn-at", "valueDateTime")),
                    "sequence": _one(r, "sequence", "valueInteger", 1),
                    "guardian_name": _one(r, "guardian-name", "valueString"),
                    "guardian_relationship": _one(r, "guardian-relationship", "valueString"),
                },
            )
        )
    imp.insert("Consent", Consent, rows)


def _encounters(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("Encounter"):
        patient = imp.row("Patient", r.get("subject"))
        episode = imp.row("Condition", (r.get("reasonReference") or [None])[0])
        if patient is None or episode is None:
            imp.skip("Encounter")
            continue
        therapist = (r.get("participant") or [{}])[0].get("individual")
        rows.append(
            (
                r["id"],
                {
                    "external_id": uuid.uuid4(),
                    "episode_id": episode,
                    "patient_id": patient,
                    "therapist_id": imp.user(therapist),
                    "number": _one(r, "visit-number", "valueInteger", 1),
                    "tolerance_limit": _one(r, "tolerance-limit", "valueInteger", 6),
                    "started_at": _instant(r["period"]["start"]),
                    "ended_at": _instant(r["period"].get("end")),
                    "status": "signed" if r.get("status") == "finished" else "in_progress",
                    "phase": "document" if r.get("status") == "finished" else "pre_test",
                },
            )
        )
    imp.insert("Encounter", Visit, rows)
    for key, row in rows:
        visit = imp.ids["Encounter"][key]
        imp.visit_owner[visit] = (row["patient_id"], row["therapist_id"])
        imp.visit_seal[visit] = (row["external_id"], row["number"], row["started_at"])


def _procedures(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("Procedure"):
        visit = imp.row("Encounter", r.get("encounter"))
        if visit is None:
            imp.skip("Procedure")
            continue
        site = (r.get("bodySite") or [{}])[0]
        reason = r.get("statusReason")
        seconds = _one(r, "seconds", "valueDuration", {}).get("value", 0)
        rows.append(
            (
                r["id"],
                {
                    "visit_id": visit,
                    "body_site": _code(site, codes.BODY_SITE_SYSTEM) or "",
                    "body_region": _code(site, codes.BODY_REGION_SYSTEM) or "",
                    "side": _side(site) or "na",
                    "instrument_type": _code(
                        (r.get("usedCode") or [{}])[0], codes.INSTRUMENT_SYSTEM
                    )
                    or "",
                    "instrument_id": imp.row("Device", (r.get("usedReference") or [None])[0]),
                    "strokes": [e["valueCode"] for e in _ext(r, "stroke")],
                    "angle_deg": _one(r, "angle-degrees", "valueInteger"),
                    "intensity": _one(r, "intensity", "valueCode", "gentle"),
                    "seconds": int(seconds),
                    "status": _one(r, "area-status", "valueCode", "completed"),
                    "stop_reason": _code(reason, codes.system("stop-reason")),
                    "stop_note": (reason or {}).get("text"),
                    "stopped_at": _instant(r["performedPeriod"].get("end")),
                    "created_at": _instant(r["performedPeriod"]["start"]),
                },
            )
        )
    imp.insert("Procedure", TreatedArea, rows)
    for key, row in rows:
        imp.area_visit[imp.ids["Procedure"][key]] = row["visit_id"]


def _questionnaires(imp: Importer, source: Source) -> None:
    for r in source.of_type("QuestionnaireResponse"):
        answers: list[Any] = []
        for item in r.get("item") or []:
            answer = (item.get("answer") or [None])[0]
            if answer is None:
                answers.append(None)
            elif "valueDecimal" in answer:
                answers.append(answer["valueDecimal"])
            else:
                answers.append(json.loads(answer["valueString"]))
        imp.answers[r["id"]] = answers


def _observations(imp: Importer, source: Source) -> None:
    batches: dict[str, list[tuple[str, Resource]]] = {}
    for r in source.of_type("Observation"):
        kind = _code(r.get("code"), codes.OBSERVATION_SYSTEM)
        built = _observation_row(imp, r, kind)
        if built is None:
            imp.skip("Observation")
            continue
        batches.setdefault(built[0], []).append((r["id"], built[1]))
        if len(batches[built[0]]) >= CHUNK:
            _flush_observations(imp, batches, built[0])
    for name in list(batches):
        _flush_observations(imp, batches, name)


_MODELS: dict[str, type[Any]] = {
    codes.READING: DiscomfortReading,
    codes.SKIN: SkinResponse,
    codes.FINDING: RestrictionFinding,
    codes.MEASUREMENT: VisitMeasurement,
    codes.OUTCOME: OutcomeMeasurement,
}


def _flush_observations(
    imp: Importer, batches: dict[str, list[tuple[str, Resource]]], name: str
) -> None:
    rows = batches.pop(name, [])
    imp.insert("Observation", _MODELS[name], rows)


def _observation_row(imp: Importer, r: Resource, kind: str | None) -> tuple[str, Resource] | None:
    at = _instant(r.get("effectiveDateTime"))
    recorder = imp.user((r.get("performer") or [None])[0])
    if kind is None:
        return _outcome_row(imp, r, at, recorder)
    visit = imp.row("Encounter", r.get("encounter"))
    area = imp.row("Procedure", (r.get("partOf") or [None])[0])
    if visit is None:
        return None
    base = {"recorded_by_id": recorder, "created_at": at}
    if kind == codes.READING and area is not None:
        return kind, {
            **base,
            "treated_area_id": area,
            "value": r["valueInteger"],
            "patient_asked_to_stop": bool(_one(r, "asked-to-stop", "valueBoolean", False)),
        }
    if kind == codes.SKIN and area is not None:
        return kind, {
            **base,
            "treated_area_id": area,
            "grade": _code(r.get("valueCodeableConcept"), codes.SKIN_GRADE_SYSTEM),
            "notes": ((r.get("note") or [{}])[0]).get("text"),
            "resolved_at": _instant(_one(r, "resolved-at", "valueDateTime")),
        }
    if kind == codes.FINDING:
        return kind, _finding_row(r, base, visit, area)
    if kind == codes.MEASUREMENT:
        return kind, _measurement_row(r, base, visit)
    return None


def _components(r: Resource) -> dict[str, Resource]:
    return {
        str(_code(c.get("code"), codes.OBSERVATION_SYSTEM)): c for c in r.get("component") or []
    }


def _finding_row(r: Resource, base: Resource, visit: int, area: int | None) -> Resource:
    parts = _components(r)
    site = r.get("bodySite") or {}
    return {
        **base,
        "visit_id": visit,
        "treated_area_id": area,
        "chart_view": parts["chart-view"]["valueString"],
        "x": parts["chart-x"]["valueQuantity"]["value"],
        "y": parts["chart-y"]["valueQuantity"]["value"],
        "body_site": _code(site, codes.BODY_SITE_SYSTEM) or "",
        "side": _side(site),
        "texture": _code(parts["texture"]["valueCodeableConcept"], codes.TEXTURE_SYSTEM),
        "severity": r["valueInteger"],
    }


def _measurement_row(r: Resource, base: Resource, visit: int) -> Resource:
    parts = _components(r)
    value = {
        name: (parts[name]["valueQuantity"]["value"] if name in parts else None)
        for name in ("pre", "post")
    }
    return {
        **base,
        "visit_id": visit,
        "kind": _one(r, "measurement-kind", "valueCode", "other"),
        "name": r["code"].get("text", ""),
        "unit": _one(r, "unit", "valueString", ""),
        "joint": _one(r, "joint", "valueCode"),
        "motion": _one(r, "motion", "valueCode"),
        "side": _one(r, "side", "valueCode"),
        "higher_is_better": _one(r, "higher-is-better", "valueBoolean"),
        "pre_value": value["pre"],
        "post_value": value["post"],
    }


def _outcome_row(
    imp: Importer, r: Resource, at: datetime | None, recorder: int
) -> tuple[str, Resource] | None:
    measure = _code(r.get("code"), codes.MEASURE_SYSTEM)
    patient = imp.row("Patient", r.get("subject"))
    episode = imp.row("Condition", _one(r, "episode", "valueReference"))
    if measure is None or patient is None or episode is None:
        return None
    source = _key((r.get("derivedFrom") or [None])[0])
    options = _one(r, "options", "valueString")
    answered = _one(r, "answered-in", "valueString")
    return codes.OUTCOME, {
        "patient_id": patient,
        "episode_id": episode,
        "visit_id": imp.row("Encounter", r.get("encounter")),
        "measure": measure,
        "registry_version": _one(r, "registry-version", "valueString", ""),
        "measured_at": at,
        "answers": imp.answers.get(source or "", []),
        "options": json.loads(options) if options else {},
        "administration": _answered_in(answered),
        "score": r["valueQuantity"]["value"],
        "subscores": {
            str(_code(c["code"], codes.MEASURE_SYSTEM)).split(":", 1)[-1]: c["valueQuantity"][
                "value"
            ]
            for c in r.get("component") or []
        },
        "recorded_by_id": recorder,
    }


def _answered_in(text: str | None) -> dict[str, Any] | None:
    """A patient-reported score's record of the words read (Strigil's own extension); text
    that is not a JSON object is not a record and is left out."""
    try:
        found = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def _care_plans(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("CarePlan"):
        visit = imp.row("Encounter", r.get("encounter"))
        if visit is None:
            imp.skip("CarePlan")
            continue
        for n, activity in enumerate(r.get("activity") or []):
            d = activity.get("detail") or {}
            details = _one(d, "details", "valueString")
            rows.append(
                (
                    f"{r['id']}#{n}",
                    {
                        "visit_id": visit,
                        "exercise_code": _code(d.get("code"), codes.EXERCISE_SYSTEM) or "",
                        "sets": _one(d, "sets", "valueInteger", 1),
                        "repetitions": _one(d, "repetitions", "valueInteger"),
                        "hold_seconds": _one(d, "hold-seconds", "valueInteger"),
                        "frequency": d.get("scheduledString", ""),
                        "notes": d.get("description"),
                        "details": json.loads(details) if details else {},
                    },
                )
            )
    imp.insert("CarePlan", ExercisePrescription, rows)
    imp.counts["CarePlan"] = len({k.split("#")[0] for k, _ in rows})


def _adverse_events(imp: Importer, source: Source) -> None:
    rows = []
    for r in source.of_type("AdverseEvent"):
        patient = imp.row("Patient", r.get("subject"))
        if patient is None:
            imp.skip("AdverseEvent")
            continue
        suspect = (r.get("suspectEntity") or [{}])[0].get("instance")
        rows.append(
            (
                r["id"],
                {
                    "patient_id": patient,
                    "visit_id": imp.row("Encounter", r.get("encounter")),
                    "treated_area_id": imp.row("Procedure", suspect),
                    "category": _code(r.get("event"), codes.ADVERSE_EVENT_SYSTEM) or "other",
                    "severity": _one(r, "severity", "valueCode", "mild"),
                    "description": (r.get("event") or {}).get("text", ""),
                    "onset_at": _instant(r.get("date")),
                    "referral_made": bool(_one(r, "referral-made", "valueBoolean", False)),
                    "status": _one(r, "status", "valueCode", "open"),
                    "follow_up": _one(r, "follow-up", "valueString", ""),
                    "resolved_at": _instant(_one(r, "resolved-at", "valueDateTime")),
                    "recorded_by_id": imp.user(r.get("recorder")),
                },
            )
        )
    imp.insert("AdverseEvent", AdverseEvent, rows)


def _notes(imp: Importer, source: Source) -> None:
    """Signed notes: the structured text back into their visits, which are then sealed anew
    (a note's digest covers its visit's id, and the visit has a new one here)."""
    updates = []
    for r in source.of_type("DocumentReference"):
        visit = imp.row("Encounter", (r.get("context") or {}).get("encounter", [None])[0])
        text = next(
            (
                c["attachment"]["data"]
                for c in r.get("content") or []
                if c["attachment"].get("contentType") == "application/json"
            ),
            None,
        )
        if visit is None or text is None:
            imp.skip("DocumentReference")
            continue
        note = json.loads(_b64_text(text))
        for name in ("signed_at", "cosigned_at"):
            note[name] = _instant(note.get(name))
        note["note_digest"] = _seal(imp.visit_seal[visit], note)
        updates.append(
            {"id": visit, "signed_by_id": imp.row("Practitioner", r.get("authenticator")), **note}
        )
    store.update_visits(imp.session, updates)
    imp.counts["DocumentReference"] = len(updates)


def _seal(visit: tuple[uuid.UUID, int, datetime], note: dict[str, Any]) -> str:
    """The digest of an imported signed note, as `strigil notes verify` recomputes it (its
    billed time is not part of the FHIR record, so the imported visit bills nothing)."""
    external_id, number, started_at = visit
    signed = SimpleNamespace(
        external_id=external_id,
        number=number,
        started_at=started_at,
        **{k: v for k, v in note.items() if k != "note_digest"},
    )
    return integrity.digest(notes.signed_content(cast(Any, signed), []))


STEPS: tuple[Callable[[Importer, Source], None], ...] = (
    _practitioners,
    _devices,
    _patients,
    _conditions,
    _consents,
    _encounters,
    _procedures,
    _questionnaires,
    _observations,
    _care_plans,
    _adverse_events,
    _notes,
)


def write_source(
    *,
    session: Session,
    clinic: Clinic,
    source: Source,
    progress: Callable[[str], None] | None = None,
) -> Importer:
    """Write an already validated input into ``clinic`` (the caller's transaction)."""
    imp = Importer(session=session, clinic=clinic)
    for step in STEPS:
        if progress:
            progress(step.__name__.strip("_"))
        step(imp, source)
    session.flush()
    return imp


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Rows written per resource type, and resources skipped (already present or orphaned)."""

    counts: dict[str, int]
    skipped: dict[str, int]


def import_path(
    *,
    session: Session,
    clinic: str,
    path: Path,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Validate a Bundle file or an NDJSON folder whole and write it into ``clinic``.

    Raises:
        NotFound: no such clinic.
        InvalidInput: the input is unreadable, of another FHIR version, or any resource is
            invalid (``extra["errors"]`` lists them); nothing is written.
    """
    from strigil.services import fhir_export

    target = fhir_export.find_clinic(session, clinic)
    source = Source(path)
    if not path.exists():
        raise InvalidInput(f"no such file or folder: {path}", field="path", code="not_found")
    if progress:
        progress("validating")
    # The rows are written while the validators run (the two take about as long) inside a
    # savepoint that is released only once the validators have accepted every resource, so
    # an invalid input still writes nothing.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fhir-validate") as background:
        checking = background.submit(validate_source, source)
        try:
            with session.begin_nested():
                result = write_source(
                    session=session, clinic=target, source=source, progress=progress
                )
                _refuse_if_invalid(checking.result())
        except Exception:
            _refuse_if_invalid(checking.result())  # the validators name the fault better
            raise
    return ImportResult(counts=dict(result.counts), skipped=dict(result.skipped))


def _refuse_if_invalid(checked: Validation) -> None:
    if checked.total_errors:
        shown = "; ".join(checked.errors[:5])
        raise InvalidInput(
            f"{checked.total_errors} invalid resource(s), nothing imported: {shown}",
            field="path",
            code="invalid_fhir",
            extra={"errors": checked.errors},
        )
