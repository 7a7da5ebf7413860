"""The signed visit note as a PDF: letterhead, patient and visit, the note, signature, addenda.

Why a PDF: the signed note leaves the clinic (to payers, other clinicians, the patient) as a
fixed document; it carries the digest that `strigil notes verify` checks, so a printed copy can
be matched to the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from strigil.documents.layout import (
    ACCENT,
    FACTS_STYLE,
    Letterhead,
    letterhead,
    para,
    render,
    styles,
)

__all__ = ["Addendum", "ChargeRow", "NoteDocument", "note_pdf"]


@dataclass(frozen=True)
class Addendum:
    written_at: str
    author: str
    text: str


@dataclass(frozen=True)
class ChargeRow:
    code: str
    label: str
    minutes: str
    units: int


@dataclass(frozen=True)
class NoteDocument:
    """Everything the printed note shows, already as display text."""

    clinic: Letterhead
    patient: str
    birth_date: str
    visit: str
    condition: str
    sections: tuple[tuple[str, str], ...]
    signed_by: str
    signed_at: str
    cosign: str
    digest: str
    charges: tuple[ChargeRow, ...] = ()
    billing_rule: str = ""
    addenda: tuple[Addendum, ...] = ()


def _facts(doc: NoteDocument) -> Table:
    rows = [
        ["Patient", doc.patient, "Date of birth", doc.birth_date],
        ["Visit", doc.visit, "Condition", doc.condition],
    ]
    table = Table(rows, colWidths=[24 * mm, 62 * mm, 26 * mm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                *FACTS_STYLE,
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _charges(doc: NoteDocument) -> list[Flowable]:
    if not doc.charges:
        return []
    st = styles()
    rows = [["Code", "Service", "Minutes", "Units"]]
    rows += [[c.code, para(c.label, st["small"]), c.minutes, str(c.units)] for c in doc.charges]
    table = Table(rows, colWidths=[18 * mm, None, 20 * mm, 16 * mm], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    return [para(f"Billing ({doc.billing_rule})", st["h2"]), table]


def _signature(doc: NoteDocument) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = [
        para("Signature", st["h2"]),
        para(f"Electronically signed by {doc.signed_by} on {doc.signed_at}.", st["body"]),
    ]
    if doc.cosign:
        out.append(para(doc.cosign, st["body"]))
    out.append(para(f"SHA-256 of the signed content: {doc.digest}", st["mono"]))
    return out


def _addenda(doc: NoteDocument) -> list[Flowable]:
    st = styles()
    if not doc.addenda:
        return []
    out: list[Flowable] = [para("Addenda", st["h2"])]
    for a in doc.addenda:
        out += [para(f"{a.written_at} · {a.author}", st["small"]), para(a.text, st["body"])]
    return out


def note_pdf(doc: NoteDocument) -> bytes:
    """Render the signed note; returns the PDF bytes."""
    st = styles()
    story: list[Flowable] = [
        *letterhead(doc.clinic, st),
        para("Visit note", st["title"]),
        _facts(doc),
        Spacer(1, 3 * mm),
    ]
    for title, text in doc.sections:
        story += [para(title, st["h2"]), para(text or "(empty)", st["body"])]
    story += _charges(doc) + _signature(doc) + _addenda(doc)
    return render(story, title=f"Visit note — {doc.patient}", author=doc.clinic.name)
