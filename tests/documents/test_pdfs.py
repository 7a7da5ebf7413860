"""The signed note and the after-care sheet as PDFs, rendered to PNG and checked not blank.

pdftoppm (poppler-utils) draws each page; a page whose pixels are nearly all white means the
document lost its content. The PNGs are kept under artifacts/pdf for people to look at.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.errors import Conflict
from strigil.services import charges, corrections, documents, treatment, visits

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "pdf"


def _png_pages(pdf: bytes, name: str) -> list[Path]:
    """Render every page with pdftoppm; a missing pdftoppm fails (make test-deps installs it)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is not installed (Debian package poppler-utils)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(source), str(ARTIFACTS / name)],
        check=True,
        capture_output=True,
    )
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


def _ink(png: Path) -> float:
    """Share of pixels that are not near-white."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        dark = sum(1 for v in grey.tobytes() if v < 200)
        return dark / (grey.width * grey.height)


def _text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed (Debian package poppler-utils)")
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


@pytest.fixture
def signed(session: Session) -> dict[str, object]:
    clinic = make_clinic(session, "Harbour Physio")
    clinic.address, clinic.phone = "12 Synthetic Quay, Porttown", "555-0142"
    therapist = make_user(session, clinic, display_name="Dana Smith")
    therapist.credentials = "DPT"
    who = actor(therapist)
    patient = make_patient(session, therapist, given_name="Lee", family_name="Example")
    episode = make_episode(session, therapist, patient, goals="Open jars without pain")
    ready_for_iastm(session, therapist, episode)
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    area = treatment.add_area(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.AreaInput(
            "lateral_elbow", "right", "stainless_steel", "gentle", ("sweep",), 45
        ),
    )
    treatment.record_reading(session=session, actor=who, treated_area_id=area.external_id, value=3)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    corrections.correct_time(
        session=session,
        actor=who,
        treated_area_id=area.external_id,
        seconds=150,
        version=area.version,
    )
    charges.add_line(
        session=session, actor=who, visit_id=visit.external_id, code="97110", seconds=720
    )
    treatment.prescribe(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.Prescription("wrist_extensor_stretch", 3, hold_seconds=30),
    )
    return {"who": who, "visit": visit}


def test_signed_note_pdf_has_letterhead_signature_addenda_and_digest(
    session: Session, signed: dict[str, object]
) -> None:
    who, visit = signed["who"], signed["visit"]
    with pytest.raises(Conflict) as err:
        documents.note_pdf(session=session, actor=who, visit_id=visit.external_id)  # type: ignore[attr-defined,arg-type]
    assert err.value.code == "note_not_signed"
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)  # type: ignore[attr-defined,arg-type]
    note = {n: getattr(draft, n) for n in visits.NOTE_FIELDS}
    visits.save_note(
        session=session, actor=who, visit_id=visit.external_id, note=note, version=None
    )  # type: ignore[attr-defined,arg-type]
    visits.sign(session=session, actor=who, visit_id=visit.external_id, version=None)  # type: ignore[attr-defined,arg-type]
    visits.add_addendum(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        text="Patient phoned: soreness settled.",
    )  # type: ignore[attr-defined,arg-type]
    pdf = documents.note_pdf(session=session, actor=who, visit_id=visit.external_id)  # type: ignore[attr-defined,arg-type]
    assert pdf.startswith(b"%PDF")
    text = " ".join(_text(pdf).split())
    for part in (
        "Harbour Physio",
        "555-0142",
        "Lee Example",
        "Electronically signed by Dana Smith, DPT",
        "Patient phoned: soreness settled.",
        visit.note_digest,  # type: ignore[attr-defined]
        "97110",
        "Treatment performed by Dana Smith, DPT.",
    ):
        assert part in text, part
    pages = _png_pages(pdf, "signed-note")
    assert pages and all(_ink(p) > 0.01 for p in pages)


def test_aftercare_pdf_names_the_clinic_and_when_to_seek_urgent_care(
    session: Session, signed: dict[str, object]
) -> None:
    pdf = documents.aftercare_pdf(
        session=session,
        actor=signed["who"],  # type: ignore[arg-type]
        visit_id=signed["visit"].external_id,  # type: ignore[attr-defined]
    )
    text = " ".join(_text(pdf).split())
    for part in (
        "Harbour Physio",
        "12 Synthetic Quay",
        "555-0142",
        "What to expect",
        "What to do",
        "When to call Harbour Physio on 555-0142",
        "chest pain or sudden breathlessness",
        "3 sets, hold 30 seconds",
    ):
        assert part in text, part
    pages = _png_pages(pdf, "aftercare")
    assert pages and all(_ink(p) > 0.01 for p in pages)


def test_aftercare_pdf_in_spanish_words_the_warning_signs_plainly(
    session: Session, signed: dict[str, object]
) -> None:
    pdf = documents.aftercare_pdf(
        session=session,
        actor=signed["who"],  # type: ignore[arg-type]
        visit_id=signed["visit"].external_id,  # type: ignore[attr-defined]
        language="es",
    )
    text = " ".join(_text(pdf).split())
    for part in (
        "Harbour Physio",
        "Sus cuidados después del tratamiento",
        "Qué esperar",
        "enrojecimiento",
        "moretones",
        "Cuándo llamar a Harbour Physio al 555-0142",
        "entumecimiento, hormigueo o debilidad",
        "dolor en el pecho o falta de aire repentina",
        "3 series, mantener 30 segundos",
        "Estiramiento de la parte de arriba del antebrazo",  # the library's name and steps
        "doble suavemente la muñeca hacia abajo",
        "Codo de tenista (dolor en la parte de afuera del codo)",  # the plain condition
    ):
        assert part in text, part
    for english in (
        "What to expect",
        "When to call",
        "chest pain",
        "3 sets",
        "Wrist extensor stretch",
        "Straighten the elbow",
        "Tennis elbow",
    ):
        assert english not in text, english
    pages = _png_pages(pdf, "aftercare-es")
    assert pages and all(_ink(p) > 0.01 for p in pages)


def test_the_pdf_draws_each_exercise_picture_with_the_same_shapes() -> None:
    from strigil.core import catalog
    from strigil.core import exercise_figures as figures
    from strigil.documents import aftercare

    for exercise in catalog.exercises():
        drawing = aftercare.figure_drawing(exercise.code)
        fig = figures.figure(exercise.code)
        assert drawing is not None and fig is not None
        assert len(drawing.contents) == len(fig.shapes)
    assert aftercare.figure_drawing("") is None
