"""PDFs of a visit: the signed note and the patient's after-care sheet.

The services gather the record and turn it into display text; `strigil.documents` only draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from strigil.core import catalog, diagnoses, i18n
from strigil.core.i18n import N_
from strigil.documents import aftercare, layout
from strigil.documents import notes as note_docs
from strigil.errors import Conflict, NotFound
from strigil.services import charges, treatment, visits
from strigil.services.actors import Actor
from strigil.services.records import parse_id
from strigil.store import clinics as clinic_store
from strigil.store import visits as visit_store
from strigil.store.clinics import Clinic
from strigil.store.visits import ExercisePrescription, Visit

__all__ = [
    "aftercare_pdf",
    "condition_for_patient",
    "note_pdf",
    "note_pdf_for_operator",
    "patient_dose",
    "patient_exercises",
    "signed_note_pdf",
]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _letterhead(clinic: Clinic) -> layout.Letterhead:
    return layout.Letterhead(name=clinic.name, address=clinic.address, phone=clinic.phone)


def _cosign(visit: Visit) -> str:
    if not visit.cosign_required:
        return ""
    if visit.cosigned_at is None:
        return "Awaiting co-signature by a therapist."
    who = ", ".join(p for p in (visit.cosigner_name, visit.cosigner_credentials) if p)
    return f"Co-signed by {who} on {_when(visit.cosigned_at)}."


def _document(session: Session, visit: Visit) -> note_docs.NoteDocument:
    if visit.status != "signed" or not visit.note_digest:
        raise Conflict("sign the note before printing it", code="note_not_signed", field="visit_id")
    clinic = clinic_store.get_clinic(session, visit.clinic_id)
    bill = charges.for_visit(session, visit, clinic.billing_rule)
    patient = visit.episode.patient
    signer = ", ".join(p for p in (visit.signer_name, visit.signer_credentials) if p)
    if visit.signer_licence:
        signer += f" (licence {visit.signer_licence})"
    return note_docs.NoteDocument(
        clinic=_letterhead(clinic),
        patient=patient.display_name,
        birth_date=patient.birth_date.isoformat(),
        visit=f"Visit {visit.number}, {_when(visit.started_at)}",
        condition=f"{visit.episode.condition_code} {visit.episode.condition_title}",
        sections=tuple((n.capitalize(), getattr(visit, n)) for n in visits.NOTE_FIELDS),
        signed_by=signer,
        signed_at=_when(visit.signed_at),
        cosign=_cosign(visit),
        digest=visit.note_digest,
        charges=tuple(
            note_docs.ChargeRow(
                c.code, c.label, "" if c.minutes is None else str(c.minutes), c.units
            )
            for c in bill.lines
        ),
        billing_rule="CMS 8-minute rule" if bill.rule.value == "cms" else "each code on its own",
        addenda=tuple(
            note_docs.Addendum(
                _when(a.created_at),
                ", ".join(p for p in (a.author_name, a.author_credentials) if p),
                a.text,
            )
            for a in visits.addenda(session, visit)
        ),
    )


def note_pdf(*, session: Session, actor: Actor, visit_id: object) -> bytes:
    """The signed note as a PDF (audited read). Raises Conflict while it is unsigned."""
    visit = visits.get(session=session, actor=actor, visit_id=visit_id)
    return note_docs.note_pdf(_document(session, visit))


def note_pdf_for_operator(*, session: Session, visit_id: object) -> bytes:
    """The signed note as a PDF for the operator's CLI (any clinic of this database)."""
    key = parse_id(visit_id, field="visit_id")
    visit = visit_store.find_visit_in_any_clinic(session, key)
    if visit is None:
        raise NotFound(f"no visit with id {key}", field="visit_id", code="visit_not_found")
    return note_docs.note_pdf(_document(session, visit))


def signed_note_pdf(session: Session, visit: Visit) -> bytes:
    """The signed note of a visit the caller has already loaded through its own checks (the
    FHIR export attaches it to the note's DocumentReference)."""
    return note_docs.note_pdf(_document(session, visit))


def dose_text(sets: int, reps: int | None, hold: int | None, frequency: str) -> str:
    text = f"{sets} set{'s' if sets != 1 else ''}"
    text += f" of {reps} repetitions" if reps else ""
    text += f", hold {hold} seconds" if hold else ""
    return f"{text}, {frequency}"


def condition_for_patient(visit: Visit, language: str | None = None) -> str:
    """The visit's condition as patient documents name it: its plain title in ``language``
    (the terms file's title, translated in the catalog), else the official English title."""
    episode = visit.episode
    plain = diagnoses.patient_condition(episode.condition_code, episode.condition_title)
    return i18n.translate(language, plain)


FREQUENCIES = (N_("daily"), N_("twice daily"), N_("every other day"), N_("3 times a week"))


def patient_dose(sets: int, reps: int | None, hold: int | None, frequency: str) -> str:
    """The dose in the current language; a frequency typed by staff is translated when it is
    one of the usual ones and otherwise printed as typed."""
    text = i18n.ngettext("{n} set", "{n} sets", sets).format(n=sets)
    if reps:
        text += i18n.ngettext(" of {n} repetition", " of {n} repetitions", reps).format(n=reps)
    if hold:
        text += i18n.gettext(", hold {n} seconds").format(n=hold)
    known = frequency.strip().lower() in FREQUENCIES
    return f"{text}, {i18n.gettext(frequency.strip().lower()) if known else frequency}"


def patient_exercises(
    rows: Sequence[ExercisePrescription],
) -> tuple[aftercare.ExerciseItem, ...]:
    """Prescribed exercises as the patient reads them, in the current language: the library's
    name and instructions (translated in the catalog, so the library stays their one source)
    and the dose; a code no longer in the library prints as itself."""
    library = {e.code: e for e in catalog.exercises()}
    items = []
    for p in rows:
        ex = library.get(p.exercise_code)
        items.append(
            aftercare.ExerciseItem(
                name=i18n.gettext(ex.name) if ex else p.exercise_code,
                dose=patient_dose(p.sets, p.repetitions, p.hold_seconds, p.frequency),
                instructions=i18n.gettext(ex.instructions) if ex else "",
                code=ex.code if ex else "",
            )
        )
    return tuple(items)


def aftercare_pdf(
    *, session: Session, actor: Actor, visit_id: object, language: str | None = None
) -> bytes:
    """The patient's after-care sheet for a visit, with the clinic's name, address and phone,
    in ``language`` (English by default)."""
    visit = visits.get(session=session, actor=actor, visit_id=visit_id)
    clinic = clinic_store.get_clinic(session, visit.clinic_id)
    with i18n.using(language):
        items = patient_exercises(treatment.prescriptions(session, visit))
    doc = aftercare.AftercareDocument(
        clinic=_letterhead(clinic),
        patient=visit.episode.patient.display_name,
        visit_date=visit.started_at.date().isoformat(),
        exercises=items,
        condition=condition_for_patient(visit, language),
        language=language,
    )
    return aftercare.aftercare_pdf(doc)
