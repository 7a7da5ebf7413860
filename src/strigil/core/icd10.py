"""ICD-10-CM look-up and search against the real code set.

Why: an episode's condition must be a real ICD-10-CM code, and screening matches
problem-list codes by prefix (docs/sources.md). The code set is the April 2026 release
bundled in ``simple-icd-10-cm`` (S48). Importing that package takes over a second, so it is
imported on first use, and the search index is built once, lazily, on the first search.

The index keeps every category, subcategory and extended code (chapters and blocks such as
``A00-A09`` are not codes). Word search uses an inverted index of title words; a query word
matches any title word it begins, and every query word must match.
"""

from __future__ import annotations

import bisect
import heapq
import re
import subprocess
import sys
import threading
from array import array
from dataclasses import dataclass
from functools import cache

from strigil.errors import InvalidInput

__all__ = ["Icd10Code", "index_ready", "is_code_query", "lookup", "normalize", "search", "warm"]

_CODE_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")
_CODE_QUERY = re.compile(r"^[A-Z][0-9][0-9A-Z.]*$")
_WORD = re.compile(r"[a-z0-9]+")
_MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Icd10Code:
    """A code with its official title; ``billable`` is true for leaf (reportable) codes."""

    code: str
    title: str
    billable: bool


# The code set is read in a child process and handed over as compact text: importing the
# package's full tree costs ~170 MB that a long-running server would otherwise keep for good.
_EXTRACT = r"""
import sys
import simple_icd_10_cm as icd
out = sys.stdout
for code in icd.get_all_codes(True):
    if code[0].isalpha() and "-" not in code:
        title = " ".join(icd.get_description(code).split())
        out.write(code + "\t" + ("1" if icd.is_leaf(code) else "0") + "\t" + title + "\n")
"""
_table_lock = threading.Lock()


@cache
def _read_table() -> dict[str, Icd10Code]:
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own fixed script
        [sys.executable, "-c", _EXTRACT], capture_output=True, check=True, encoding="utf-8"
    )
    table: dict[str, Icd10Code] = {}
    for line in done.stdout.splitlines():
        code, leaf, title = line.split("\t", 2)
        table[normalize(code)] = Icd10Code(code=code, title=title, billable=leaf == "1")
    return table


def _table() -> dict[str, Icd10Code]:
    with _table_lock:  # concurrent first requests must not each start a child process
        return _read_table()


def warm() -> None:
    """Load the code set and build the word index now (servers call this on a background
    thread at start-up). The index costs about 30 MB, but the episode form searches words
    from its first keystroke, and building it inside a request takes seconds under load
    while that request holds the database (SQLite serialises transactions)."""
    _table()
    _index()


def index_ready() -> bool:
    """Whether word search can answer at once (the index is built)."""
    return _build_index.cache_info().currsize > 0


def normalize(code: str) -> str:
    """Upper-case, strip spaces and the dot: ``' m72.2 '`` → ``'M722'``."""
    return code.strip().upper().replace(".", "")


def _unknown(code: str) -> InvalidInput:
    return InvalidInput(
        f"{code!r} is not an ICD-10-CM code", code="unknown_icd10_code", field="condition_code"
    )


def lookup(code: str) -> Icd10Code:
    """The code with its title, accepting it with or without the dot, in any case.

    Raises InvalidInput(field="condition_code", code="unknown_icd10_code") when not in the set.
    """
    bare = normalize(code) if isinstance(code, str) else ""
    if not _CODE_SHAPE.match(bare):
        raise _unknown(str(code))
    found = _table().get(bare)
    if found is None:
        raise _unknown(code)
    return found


@dataclass(frozen=True)
class _Index:
    codes: tuple[Icd10Code, ...]  # in code order
    bare: tuple[str, ...]  # normalised codes, sorted, parallel to ``codes``
    words: tuple[str, ...]  # sorted distinct title words
    postings: tuple[array[int], ...]  # positions in ``codes`` per word (compact ints)


_index_lock = threading.Lock()


@cache
def _build_index() -> _Index:
    table = _table()
    bare = tuple(sorted(table))
    codes = tuple(table[b] for b in bare)
    by_word: dict[str, set[int]] = {}
    for pos, item in enumerate(codes):
        for word in set(_WORD.findall(item.title.lower())):
            by_word.setdefault(word, set()).add(pos)
    words = tuple(sorted(by_word))
    return _Index(
        codes=codes,
        bare=bare,
        words=words,
        postings=tuple(array("i", sorted(by_word[w])) for w in words),
    )


def _index() -> _Index:
    with _index_lock:  # two first requests must not both build the index
        return _build_index()


def _prefix_range(sorted_items: tuple[str, ...], prefix: str) -> range:
    start = bisect.bisect_left(sorted_items, prefix)
    end = bisect.bisect_left(sorted_items, prefix + "\uffff")
    return range(start, end)


def _by_code(index: _Index, query: str, limit: int) -> list[Icd10Code]:
    hits = _prefix_range(index.bare, normalize(query))
    return [index.codes[i] for i in hits[:limit]]


def _by_words(index: _Index, words: list[str], limit: int) -> list[Icd10Code]:
    """Codes matching every word, best first: whole-word matches, then shorter titles."""
    matched: set[int] | None = None
    exact: list[set[int]] = []
    for word in sorted(set(words), key=len, reverse=True):  # longest (rarest) word first
        positions: set[int] = set()
        for w in _prefix_range(index.words, word):
            positions.update(index.postings[w])
            if index.words[w] == word:
                exact.append(set(index.postings[w]))
        matched = positions if matched is None else matched & positions
        if not matched:
            return []

    def rank(pos: int) -> tuple[int, int, int]:
        misses = sum(pos not in e for e in exact) + len(set(words)) - len(exact)
        return (misses, len(index.codes[pos].title), pos)

    return [index.codes[i] for i in heapq.nsmallest(limit, matched or (), key=rank)]


def is_code_query(text: str) -> bool:
    """Whether ``text`` is shaped like a code or code prefix (``M72``, ``m72.2``)."""
    return bool(_CODE_QUERY.match(text.strip().upper()))


def search(text: str, limit: int = 20) -> list[Icd10Code]:
    """Codes whose code starts with ``text`` or whose title contains all its words.

    A query shaped like a code (``M72``, ``m72.2``) searches codes by prefix; anything else
    searches title words, case-insensitive. Code results come in code order; word results rank
    whole-word matches first, then shorter (more general) titles. At most ``limit`` results.
    """
    if not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be 1-{_MAX_LIMIT}", code="invalid_limit", field="limit")
    query = text.strip() if isinstance(text, str) else ""
    if not query:
        raise InvalidInput("enter a code or words to search for", code="empty_query", field="q")
    index = _index()
    if _CODE_QUERY.match(query.upper()):
        return _by_code(index, query, limit)
    words = _WORD.findall(query.lower())
    if not words:
        return []
    return _by_words(index, words, limit)
