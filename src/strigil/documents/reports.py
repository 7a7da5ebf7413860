"""The progress report and the discharge summary of an episode of care, as PDFs.

Why: the referring physician, the payer and the patient want the course of care on paper:
how the primary outcome moved against its MCID, what similar patients experienced, what was
treated, what went wrong and what to keep doing. The services gather only recorded facts and
turn them into display text; this module draws them with the letterhead and styles of the
signed note (:mod:`strigil.documents.layout`).
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from strigil.documents.layout import (
    ACCENT,
    FACTS_STYLE,
    INK,
    MARGIN,
    MUTED,
    PAGE,
    Letterhead,
    letterhead,
    para,
    render,
    styles,
)

__all__ = ["Chart", "EventRow", "MeasureRow", "ReportDocument", "VisitRow", "report_pdf"]

MCID_FILL = colors.HexColor("#e3f0ec")
EXPECTED_FILL = colors.HexColor("#f3e6c8")
GRID = colors.HexColor("#d9dee3")


@dataclass(frozen=True)
class Chart:
    """The primary measure by visit, on the measure's own scale."""

    title: str
    low: float
    high: float
    points: tuple[tuple[int, float], ...]
    mcid: tuple[float, float] | None = None  # (baseline, baseline moved by one MCID)
    expected: tuple[tuple[int, float, float], ...] = ()  # (visit, one quartile, the other)


@dataclass(frozen=True)
class MeasureRow:
    measure: str
    scores: str
    baseline: str
    latest: str
    change: str
    status: str


@dataclass(frozen=True)
class VisitRow:
    number: str
    date: str
    status: str
    areas: str


@dataclass(frozen=True)
class EventRow:
    onset: str
    visit: str
    event: str
    status: str
    description: str


@dataclass(frozen=True)
class ReportDocument:
    """Everything the printed report shows, already as display text."""

    title: str
    clinic: Letterhead
    patient: str
    birth_date: str
    condition: str
    episode: str
    therapist: str
    goals: str
    responder: str
    responder_basis: str
    prompt: str
    chart: Chart | None
    expected: str
    measures: tuple[MeasureRow, ...]
    visits: tuple[VisitRow, ...]
    areas: tuple[tuple[str, str], ...]
    events: tuple[EventRow, ...]
    aftercare_from: str
    aftercare: tuple[tuple[str, str], ...]
    generated: str


# ------------------------------------------------------------------------------ tables


def _cell() -> ParagraphStyle:
    """Table text: the size of the table's plain cells, in ink, so a row reads as one line."""
    return ParagraphStyle("cell", parent=styles()["body"], fontSize=9, leading=11, spaceAfter=0)


def _grid(rows: list[list[object]], widths: list[float | None], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style: list[tuple[object, ...]] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
        ]
    table.setStyle(TableStyle(style))
    return table


def _facts(doc: ReportDocument) -> Table:
    rows = [
        ["Patient", doc.patient, "Date of birth", doc.birth_date],
        [
            "Condition",
            para(doc.condition, _cell()),
            "Therapist",
            para(doc.therapist, _cell()),
        ],
        ["Episode", para(doc.episode, _cell()), "", ""],
    ]
    if doc.goals:
        rows.append(["Goal", para(doc.goals, _cell()), "", ""])
    table = Table(rows, colWidths=[22 * mm, 72 * mm, 24 * mm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                *FACTS_STYLE,
                ("SPAN", (1, 2), (3, 2)),
                ("SPAN", (1, 3), (3, 3)),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


# ------------------------------------------------------------------------------ chart


@dataclass(frozen=True)
class _Frame:
    width: float
    height: float
    left: float
    bottom: float
    x_max: int
    chart: Chart

    def x(self, visit: float) -> float:
        inner = self.width - self.left - 12
        return self.left + inner * (visit - 0.5) / max(self.x_max, 1)

    def y(self, value: float) -> float:
        c = self.chart
        span = (c.high - c.low) or 1.0
        clamped = min(max(value, c.low), c.high)
        return self.bottom + (self.height - self.bottom - 8) * (clamped - c.low) / span


def _axes(d: Drawing, f: _Frame) -> None:
    c = f.chart
    for i in range(5):
        value = c.low + (c.high - c.low) * i / 4
        y = f.y(value)
        d.add(Line(f.left, y, f.width - 12, y, strokeColor=GRID, strokeWidth=0.5))
        label = f"{value:g}" if value == int(value) else f"{value:.1f}"
        d.add(String(f.left - 4, y - 3, label, fontName="Helvetica", fontSize=7, textAnchor="end"))
    for v in range(1, f.x_max + 1):
        d.add(
            String(f.x(v), f.bottom - 11, f"V{v}", fontName="Helvetica", fontSize=7,
                   fillColor=MUTED, textAnchor="middle")
        )  # fmt: skip


def _bands(d: Drawing, f: _Frame) -> None:
    """The MCID band first, then the expected course over it, half transparent, so both show."""
    c = f.chart
    if c.mcid:
        base, target = c.mcid
        bottom, top = f.y(min(base, target)), f.y(max(base, target))
        d.add(
            Rect(f.left, bottom, f.width - 12 - f.left, max(top - bottom, 0.5),
                 fillColor=MCID_FILL, strokeColor=None)
        )  # fmt: skip
    if c.expected:
        upper = [p for v, a, b in c.expected for p in (f.x(v), f.y(max(a, b)))]
        lower = [p for v, a, b in reversed(c.expected) for p in (f.x(v), f.y(min(a, b)))]
        d.add(Polygon(upper + lower, fillColor=EXPECTED_FILL, fillOpacity=0.7, strokeColor=None))
    if c.mcid:
        target_y = f.y(c.mcid[1])
        d.add(
            Line(f.left, target_y, f.width - 12, target_y, strokeColor=ACCENT,
                 strokeWidth=0.8, strokeDashArray=[3, 2])
        )  # fmt: skip


def _series(d: Drawing, f: _Frame) -> None:
    coords = [(f.x(v), f.y(s)) for v, s in f.chart.points]
    if len(coords) > 1:
        flat = [p for xy in coords for p in xy]
        d.add(PolyLine(flat, strokeColor=INK, strokeWidth=1.4))
    for x, y in coords:
        d.add(Circle(x, y, 2.6, fillColor=ACCENT, strokeColor=colors.white, strokeWidth=0.6))


def chart_drawing(chart: Chart, width: float, height: float = 150) -> Drawing:
    """Scores by visit over the MCID band and the expected course of similar episodes."""
    visits = [v for v, _ in chart.points] + [v for v, _, _ in chart.expected]
    frame = _Frame(width, height, 34, 18, max([*visits, 1]), chart)
    d = Drawing(width, height)
    _bands(d, frame)
    _axes(d, frame)
    _series(d, frame)
    return d


def _legend(chart: Chart) -> str:
    parts = ["dots and line: this patient's scores by visit (V1 = first visit)"]
    if chart.mcid:
        parts.append("green band: within one MCID of the baseline; dashed line: meaningful change")
    if chart.expected:
        parts.append("sand band: middle half of similar completed episodes in this clinic")
    return "; ".join(parts) + "."


# ------------------------------------------------------------------------------ sections


def _outcome(doc: ReportDocument) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = [para("Outcome", st["h2"]), para(doc.responder, st["strong"])]
    if doc.responder_basis:
        out.append(para(doc.responder_basis, st["small"]))
    if doc.prompt:
        out.append(para(doc.prompt, st["body"]))
    if doc.chart is not None:
        width = PAGE[0] - 2 * MARGIN
        figure = [
            para(doc.chart.title, st["small"]),
            chart_drawing(doc.chart, width),
            para(_legend(doc.chart), st["small"]),
        ]
        out.append(KeepTogether(figure))
    out += [para("Expected course", st["h2"]), para(doc.expected, st["body"])]
    return out


def _measures(doc: ReportDocument) -> list[Flowable]:
    if not doc.measures:
        return []
    st = styles()
    rows: list[list[object]] = [["Measure", "Scores", "Baseline", "Latest", "Change", "Status"]]
    rows += [
        [para(m.measure, _cell()), m.scores, m.baseline, m.latest, m.change, m.status]
        for m in doc.measures
    ]
    widths: list[float | None] = [None, 16 * mm, 18 * mm, 18 * mm, 18 * mm, 24 * mm]
    return [para("Outcome measures", st["h2"]), _grid(rows, widths)]


def _visits(doc: ReportDocument) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = [para("Visits and areas treated", st["h2"])]
    if not doc.visits:
        return [*out, para("No visits were recorded.", st["body"])]
    rows: list[list[object]] = [["Visit", "Date", "Note", "Areas treated"]]
    rows += [[v.number, v.date, v.status, para(v.areas, _cell())] for v in doc.visits]
    out.append(_grid(rows, [14 * mm, 24 * mm, 20 * mm, None]))
    if doc.areas:
        out.append(Spacer(1, 2 * mm))
        rows = [["Site", "Course"]]
        rows += [[para(site, _cell()), para(text, _cell())] for site, text in doc.areas]
        out.append(_grid(rows, [52 * mm, None]))
    return out


def _events(doc: ReportDocument) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = [para("Adverse events", st["h2"])]
    if not doc.events:
        return [*out, para("No adverse events were recorded in this episode.", st["body"])]
    rows: list[list[object]] = [["Onset", "Visit", "Event", "Status", "Description"]]
    rows += [
        [
            e.onset,
            e.visit,
            para(e.event, _cell()),
            para(e.status, _cell()),
            para(e.description, _cell()),
        ]
        for e in doc.events
    ]
    return [*out, _grid(rows, [22 * mm, 12 * mm, 34 * mm, 32 * mm, None])]


def _aftercare(doc: ReportDocument) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = [para("After-care", st["h2"])]
    if not doc.aftercare:
        return [*out, para("No after-care was prescribed in this episode.", st["body"])]
    out.append(para(doc.aftercare_from, st["small"]))
    rows: list[list[object]] = [[para(n, _cell()), para(d, _cell())] for n, d in doc.aftercare]
    return [*out, _grid(rows, [60 * mm, None], header=False)]


def report_pdf(doc: ReportDocument) -> bytes:
    """Render a progress report or discharge summary; returns the PDF bytes."""
    st = styles()
    story: list[Flowable] = [
        *letterhead(doc.clinic, st),
        para(doc.title, st["title"]),
        _facts(doc),
        *_outcome(doc),
        *_measures(doc),
        *_visits(doc),
        *_events(doc),
        *_aftercare(doc),
        Spacer(1, 4 * mm),
        para(
            f"This document states only what was recorded in Strigil. Generated {doc.generated}.",
            st["small"],
        ),
    ]
    return render(story, title=f"{doc.title} — {doc.patient}", author=doc.clinic.name)
