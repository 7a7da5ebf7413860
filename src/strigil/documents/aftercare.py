"""The patient's after-care sheet as a PDF: exercises, what to expect, when to call.

Why these sections: soreness for 24–48 h, redness and occasional light bruising are the normal
after-effects of IASTM (S6, S17, S18); a spreading or lasting bruise, soreness beyond 48 h,
calf pain or swelling, numbness or tingling are reasons to contact the clinic (S18, GK); chest
pain or sudden breathlessness may mean a clot has moved and needs emergency care (GK).
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.platypus import Flowable, ListFlowable, ListItem

from strigil.documents.layout import Letterhead, letterhead, para, render, styles

__all__ = ["AftercareDocument", "ExerciseItem", "aftercare_pdf"]

EXPECT = (
    "Soreness in the treated area for 24 to 48 hours is common, like after a workout.",
    "Redness and warmth of the skin usually fade within hours.",
    "Light bruising or small red dots may appear a day or two later and usually fade within days.",
)
DO = (
    "Keep moving and do your exercises as shown above; they help the treatment last.",
    "Use ice for 10 to 15 minutes if the area is sore or bruised.",
)
CALL_IF = (
    "bruising spreads, is large, or does not fade within a week;",
    "soreness lasts more than 48 hours or gets worse;",
    "you notice calf pain or swelling, numbness, tingling or weakness;",
    "the skin breaks, blisters or looks infected.",
)
URGENT = (
    "Seek urgent care (call emergency services) if you have chest pain or sudden breathlessness."
)


@dataclass(frozen=True)
class ExerciseItem:
    name: str
    dose: str
    instructions: str


@dataclass(frozen=True)
class AftercareDocument:
    clinic: Letterhead
    patient: str
    visit_date: str
    exercises: tuple[ExerciseItem, ...]
    condition: str = ""  # in plain words (core.diagnoses), never the official code title


def _bullets(items: tuple[str, ...]) -> ListFlowable:
    st = styles()
    return ListFlowable(
        [ListItem(para(i, st["body"]), leftIndent=10) for i in items],
        bulletType="bullet",
        start="•",
        leftIndent=12,
    )


def _exercises(doc: AftercareDocument) -> list[Flowable]:
    st = styles()
    if not doc.exercises:
        return [para("No exercises were prescribed at this visit.", st["body"])]
    out: list[Flowable] = []
    for n, item in enumerate(doc.exercises, 1):
        out += [
            para(f"{n}. {item.name} — {item.dose}", st["body"]),
            para(item.instructions, st["small"]),
        ]
    return out


def aftercare_pdf(doc: AftercareDocument) -> bytes:
    """Render the sheet; returns the PDF bytes."""
    st = styles()
    phone = f" on {doc.clinic.phone}" if doc.clinic.phone else ""
    story: list[Flowable] = [
        *letterhead(doc.clinic, st),
        para("Your after-care sheet", st["title"]),
        para(f"{doc.patient} · visit of {doc.visit_date}", st["small"]),
        *([para(f"Your condition: {doc.condition}", st["body"])] if doc.condition else []),
        para("Your home programme", st["h2"]),
        *_exercises(doc),
        para("What to expect", st["h2"]),
        _bullets(EXPECT),
        para("What to do", st["h2"]),
        _bullets(DO),
        para(f"When to call {doc.clinic.name}{phone}", st["h2"]),
        _bullets(CALL_IF),
        para("Urgent", st["h2"]),
        para(URGENT, st["body"]),
    ]
    return render(story, title="After-care sheet", author=doc.clinic.name)
