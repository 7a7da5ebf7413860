"""Match keys for telling whether two charts belong to one person, and birth-date parsing.

Why: the same person typed twice rarely looks identical — "José  Núñez" and "jose nunez",
"+1 (555) 010-2000" and "555 010 2000", "Ada@Example.org" and "ada@example.org". Comparing
normalised keys instead of the text as typed finds those charts before a second one is made.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

__all__ = ["email_key", "name_key", "parse_birth_date", "phone_digits", "search_digits"]

MIN_PHONE_DIGITS = 6  # shorter digit runs (extensions, typos) would match strangers
_DOTTED = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PHONE_PUNCTUATION = re.compile(r"^[+\d\s().\-/]+$")


def fold(text: str) -> str:
    """Lower case, accents stripped, runs of whitespace made one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def name_key(given_name: str, family_name: str) -> str:
    """One comparable key for a person's name (``given|family``, folded)."""
    return f"{fold(given_name)}|{fold(family_name)}"


def phone_digits(phone: str | None) -> str | None:
    """The digits of a phone number, or None when too few to identify anyone."""
    digits = re.sub(r"\D", "", phone or "")
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def email_key(email: str | None) -> str | None:
    """An email address compared case-insensitively and without surrounding spaces."""
    key = (email or "").strip().lower()
    return key or None


def parse_birth_date(text: str) -> date | None:
    """A birth date typed into search, or None when the text is not one.

    Accepted: ISO ``YYYY-MM-DD`` and day-first ``D.M.YYYY`` or ``D/M/YYYY`` (one or two
    digits for day and month). Month-first dates are not accepted: 01/05/2024 is 1 May.
    """
    value = text.strip()
    try:
        if _ISO.match(value):
            return date.fromisoformat(value)
        dotted = _DOTTED.match(value)
        if dotted:
            day, month, year = (int(part) for part in dotted.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def search_digits(text: str) -> str | None:
    """The digits of a search word that looks like (part of) a phone number or record number:
    only digits and phone punctuation, and at least three digits."""
    if not _PHONE_PUNCTUATION.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= 3 else None
