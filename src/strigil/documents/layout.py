"""Shared page furniture for Strigil PDFs: styles, the clinic letterhead, safe paragraphs."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, HRFlowable, Paragraph, SimpleDocTemplate, Spacer

PAGE = A4
MARGIN = 18 * mm
INK = colors.HexColor("#1f2933")
ACCENT = colors.HexColor("#2f6f73")
MUTED = colors.HexColor("#5f6b76")
# A four-column label/value table (label, value, label, value): the note's and the reports'
# heading facts look alike.
FACTS_STYLE: list[tuple[object, ...]] = [
    ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
    ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
    ("FONT", (2, 0), (2, -1), "Helvetica-Bold", 9),
    ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
    ("TEXTCOLOR", (2, 0), (2, -1), MUTED),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
]


@dataclass(frozen=True)
class Letterhead:
    """The clinic as printed at the top of every document."""

    name: str
    address: str = ""
    phone: str = ""


def styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "body",
        parent=base["BodyText"],
        fontName="Helvetica",
        fontSize=10,
        leading=14,
        textColor=INK,
        spaceAfter=4,
    )
    return {
        "body": body,
        "strong": ParagraphStyle("strong", parent=body, fontName="Helvetica-Bold"),
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=MUTED),
        "clinic": ParagraphStyle(
            "clinic",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=15,
            leading=18,
            textColor=ACCENT,
            spaceAfter=1,
        ),
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=13,
            leading=17,
            spaceBefore=6,
            spaceAfter=6,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=11,
            leading=14,
            textColor=ACCENT,
            spaceBefore=8,
            spaceAfter=3,
        ),
        "mono": ParagraphStyle(
            "mono", parent=body, fontName="Courier", fontSize=8, leading=10, textColor=MUTED
        ),
    }


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: markup characters are escaped, line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def letterhead(head: Letterhead, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    lines = [para(head.name, st["clinic"])]
    contact = " · ".join(p for p in (head.address.replace("\n", ", "), head.phone) if p)
    if contact:
        lines.append(para(contact, st["small"]))
    lines += [
        Spacer(1, 2 * mm),
        HRFlowable(width="100%", thickness=1, color=ACCENT),
        Spacer(1, 3 * mm),
    ]
    return lines


def render(story: Sequence[Flowable], *, title: str, author: str) -> bytes:
    """The story as an A4 PDF with Strigil's margins; ``title`` and ``author`` go into the
    PDF's properties, where document managers show them."""
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
    ).build(list(story))
    return buffer.getvalue()
