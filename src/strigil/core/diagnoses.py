"""Diagnosis search in clinical words, and condition names a patient can read.

Why: clinicians type "tennis elbow" or "DVT", not "Lateral epicondylitis" or "Acute
embolism and thrombosis of unspecified deep veins"; and a consent that tells a patient "Plantar
fascial fibromatosis" reads like a tumour. ``catalog/diagnosis_terms.json`` maps clinical and
lay terms to ICD-10-CM codes and gives each code group a plain title, each with its source.

Search ranks, in order: codes reached through a synonym (best-matching term first), then
official-title matches among the code groups an IASTM clinic commonly treats, then every
other official-title match (so "tennis" offers tennis elbow before "Struck by tennis racquet").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from strigil.core import catalog, icd10
from strigil.errors import InvalidInput

__all__ = [
    "MAX_QUERY_LENGTH",
    "DiagnosisMatch",
    "TermGroup",
    "lay_title",
    "patient_condition",
    "search",
    "term_groups",
]

MAX_QUERY_LENGTH = 80
_MAX_LIMIT = 200
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Term:
    """A clinical or lay name for a code group, with where the wording comes from."""

    term: str
    words: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TermGroup:
    """Codes offered for a set of terms, and the plain title of the code groups it covers."""

    id: str
    prefixes: tuple[str, ...]
    codes: tuple[str, ...]
    lay_title: str
    lay_sources: tuple[str, ...]
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class DiagnosisMatch:
    """A search result: the code, its official title, and why it was offered."""

    code: str
    title: str
    billable: bool
    matched_term: str | None
    lay_title: str | None


def _words(text: str) -> tuple[str, ...]:
    """Lower-case words with apostrophes dropped, so "golfer's" is one word, "golfers"."""
    return tuple(_WORD.findall(text.lower().replace("'", "").replace("\u2019", "")))


@cache
def _data() -> dict[str, Any]:
    raw = files(catalog.__name__).joinpath("diagnosis_terms.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


def version() -> str:
    """The version of the terms file, to store with records made from it."""
    return str(_data()["version"])


@cache
def term_groups() -> tuple[TermGroup, ...]:
    """Every group of the terms file, in file order."""
    return tuple(
        TermGroup(
            id=g["id"],
            prefixes=tuple(g["prefixes"]),
            codes=tuple(g["codes"]),
            lay_title=g["lay_title"],
            lay_sources=tuple(g["lay_sources"]),
            terms=tuple(
                Term(t["term"], _words(t["term"]), tuple(t["sources"])) for t in g["terms"]
            ),
        )
        for g in _data()["groups"]
    )


@cache
def _common_prefixes() -> tuple[str, ...]:
    """Bare code prefixes of the groups commonly treated (terms file and indications)."""
    found = {icd10.normalize(p) for g in term_groups() for p in g.prefixes}
    found |= {icd10.normalize(i.code) for i in catalog.indications()}
    return tuple(sorted(found))


def lay_title(code: str) -> str | None:
    """The plain title of the code's group (longest matching prefix), or None."""
    bare = icd10.normalize(code)
    best: tuple[int, str] | None = None
    for group in term_groups():
        for prefix in map(icd10.normalize, group.prefixes):
            if bare.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), group.lay_title)
    return best[1] if best else None


def patient_condition(code: str, official_title: str) -> str:
    """What patient documents call the condition: its plain title, else the official one."""
    return lay_title(code) or official_title


def _checked_query(text: object, limit: object) -> str:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be 1-{_MAX_LIMIT}", code="invalid_limit", field="limit")
    query = text.strip() if isinstance(text, str) else ""
    if not query:
        raise InvalidInput("enter a code or words to search for", code="empty_query", field="q")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            f"the search is {len(query)} characters long; use at most {MAX_QUERY_LENGTH}",
            code="query_too_long",
            field="q",
        )
    return query


def _term_rank(term: Term, words: tuple[str, ...]) -> tuple[int, int] | None:
    """None unless every query word begins a word of the term; lower ranks match better."""
    if not all(any(tw.startswith(w) for tw in term.words) for w in words):
        return None
    whole = sum(w in term.words for w in words)
    covered = sum(any(tw.startswith(w) for w in words) for tw in term.words)
    return (len(term.words) - covered) * 10 + (len(words) - whole), len(term.term)


def _synonym_hits(words: tuple[str, ...]) -> list[tuple[int, TermGroup, Term]]:
    """Groups with a matching term, best match first; ties keep the file's order, which
    lists the most commonly treated conditions first."""
    hits = []
    for group in term_groups():
        ranked = [(r, t) for t in group.terms if (r := _term_rank(t, words)) is not None]
        if ranked:
            rank, term = min(ranked, key=lambda item: item[0])
            hits.append((rank[0], group, term))
    return sorted(hits, key=lambda hit: hit[0])


def _match(code: icd10.Icd10Code, term: str | None) -> DiagnosisMatch:
    return DiagnosisMatch(code.code, code.title, code.billable, term, lay_title(code.code))


def _by_words(query: str, limit: int) -> list[DiagnosisMatch]:
    words = _words(query)
    out: dict[str, DiagnosisMatch] = {}
    for _, group, term in _synonym_hits(words):
        for code in group.codes:
            out.setdefault(code, _match(icd10.lookup(code), term.term))
    if words:
        official = icd10.search(" ".join(words), limit=_MAX_LIMIT)
        common = _common_prefixes()
        official.sort(key=lambda c: not icd10.normalize(c.code).startswith(common))
        for hit in official:
            out.setdefault(hit.code, _match(hit, None))
    return list(out.values())[:limit]


def search(text: str, limit: int = 20) -> list[DiagnosisMatch]:
    """Codes for a code prefix (``M77.1``) or for clinical, lay or official words.

    Raises:
        InvalidInput: an empty or over-long query (field ``q``), or a bad ``limit``.
    """
    query = _checked_query(text, limit)
    if icd10.is_code_query(query):
        return [_match(c, None) for c in icd10.search(query, limit=limit)]
    return _by_words(query, limit)
