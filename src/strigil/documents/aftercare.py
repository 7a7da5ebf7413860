"""The patient's after-care sheet as a PDF: exercises, what to expect, when to call.

Why these sections: soreness for 24–48 h, redness and occasional light bruising are the normal
after-effects of IASTM (S6, S17, S18); a spreading or lasting bruise, soreness beyond 48 h,
calf pain or swelling, numbness or tingling are reasons to contact the clinic (S18, GK); chest
pain or sudden breathlessness may mean a clot has moved and needs emergency care (GK).

Every sentence is a gettext message, so the sheet prints in the patient's language (the
Spanish catalog words the clinical terms plainly: moretón, enrojecimiento, hormigueo).
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.graphics.shapes import Circle as RlCircle
from reportlab.graphics.shapes import Drawing, Polygon, PolyLine, Shape
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, ListFlowable, ListItem, Table, TableStyle

from strigil.core import exercise_figures as figures
from strigil.core import i18n
from strigil.core.i18n import N_
from strigil.documents.layout import Letterhead, letterhead, para, render, styles

__all__ = ["AftercareDocument", "ExerciseItem", "aftercare_pdf"]

EXPECT = (
    N_("Soreness in the treated area for 24 to 48 hours is common, like after a workout."),
    N_("Redness and warmth of the skin usually fade within hours."),
    N_(
        "Light bruising or small red dots may appear a day or two later and usually fade "
        "within days."
    ),
)
DO = (
    N_("Keep moving and do your exercises as shown above; they help the treatment last."),
    N_("Use ice for 10 to 15 minutes if the area is sore or bruised."),
)
CALL_IF = (
    N_("bruising spreads, is large, or does not fade within a week;"),
    N_("soreness lasts more than 48 hours or gets worse;"),
    N_("you notice calf pain or swelling, numbness, tingling or weakness;"),
    N_("the skin breaks, blisters or looks infected."),
)
URGENT = N_(
    "Seek urgent care (call emergency services) if you have chest pain or sudden breathlessness."
)


@dataclass(frozen=True)
class ExerciseItem:
    name: str
    dose: str
    instructions: str
    code: str = ""  # the library code, which picks the picture; empty when not in the library


@dataclass(frozen=True)
class AftercareDocument:
    clinic: Letterhead
    patient: str
    visit_date: str
    exercises: tuple[ExerciseItem, ...]
    condition: str = ""  # in plain words (core.diagnoses), never the official code title
    language: str | None = None  # None: English


def _bullets(items: tuple[str, ...]) -> ListFlowable:
    st = styles()
    return ListFlowable(
        [ListItem(para(i18n.gettext(i), st["body"]), leftIndent=10) for i in items],
        bulletType="bullet",
        start="•",
        leftIndent=12,
    )


def _exercises(doc: AftercareDocument) -> list[Flowable]:
    st = styles()
    if not doc.exercises:
        return [para(i18n.gettext("No exercises were prescribed at this visit."), st["body"])]
    out: list[Flowable] = []
    for n, item in enumerate(doc.exercises, 1):
        text = [
            para(f"{n}. {item.name} — {item.dose}", st["body"]),
            para(item.instructions, st["small"]),
        ]
        picture = figure_drawing(item.code)
        if picture is None:
            out += text
            continue
        row = Table([[picture, text]], colWidths=[FIGURE_WIDTH + 3 * mm, None])
        row.setStyle(TABLE_STYLE)
        out.append(row)
    return out


FIGURE_WIDTH = 30 * mm
TABLE_STYLE = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
)


def figure_drawing(code: str) -> Drawing | None:
    """The exercise picture drawn with the PDF library's own shapes, so the sheet and the PDF
    show the same figure without an SVG converter; None when the exercise has no picture."""
    fig = figures.figure(code) if code else None
    if fig is None:
        return None
    k = FIGURE_WIDTH / figures.WIDTH
    drawing = Drawing(FIGURE_WIDTH, figures.HEIGHT * k)
    for shape in fig.shapes:
        drawing.add(_pdf_shape(shape, k))
    return drawing


def _pdf_shape(shape: figures.Shape, k: float) -> Shape:
    """One figure shape in PDF points; PDF y grows upwards, so the picture is flipped."""
    colour = colors.HexColor(figures.COLOURS[shape.tone])
    if isinstance(shape, figures.Circle):
        x, y = shape.centre
        return RlCircle(
            x * k,
            (figures.HEIGHT - y) * k,
            shape.r * k,
            strokeColor=colour,
            strokeWidth=shape.width * k,
            fillColor=colour if shape.fill else None,
        )
    flat = [v for x, y in shape.points for v in (x * k, (figures.HEIGHT - y) * k)]
    if shape.fill:
        return Polygon(flat, strokeColor=colour, strokeWidth=shape.width * k, fillColor=colour)
    return PolyLine(
        flat,
        strokeColor=colour,
        strokeWidth=shape.width * k,
        strokeLineCap=1,
        strokeLineJoin=1,
        strokeDashArray=[5 * k, 4 * k] if shape.dashed else None,
    )


def aftercare_pdf(doc: AftercareDocument) -> bytes:
    """Render the sheet in the document's language; returns the PDF bytes."""
    with i18n.using(doc.language):
        return render(_story(doc), title=i18n.gettext("After-care sheet"), author=doc.clinic.name)


def _story(doc: AftercareDocument) -> list[Flowable]:
    st, _ = styles(), i18n.gettext
    clinic = doc.clinic.name
    if doc.clinic.phone:
        call = _("When to call {clinic} on {phone}").format(clinic=clinic, phone=doc.clinic.phone)
    else:
        call = _("When to call {clinic}").format(clinic=clinic)
    when = _("{patient} · visit of {date}").format(patient=doc.patient, date=doc.visit_date)
    condition = _("Your condition: {condition}").format(condition=doc.condition)
    return [
        *letterhead(doc.clinic, st),
        para(_("Your after-care sheet"), st["title"]),
        para(when, st["small"]),
        *([para(condition, st["body"])] if doc.condition else []),
        para(_("Your home programme"), st["h2"]),
        *_exercises(doc),
        para(_("What to expect"), st["h2"]),
        _bullets(EXPECT),
        para(_("What to do"), st["h2"]),
        _bullets(DO),
        para(call, st["h2"]),
        _bullets(CALL_IF),
        para(_("Urgent"), st["h2"]),
        para(_(URGENT), st["body"]),
    ]
