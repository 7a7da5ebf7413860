"""De-identification rules for the research export, after HIPAA Safe Harbor (45 CFR 164.514(b)(2)).

Pure functions, no framework: the services feed them rows and write what they return.

* **Keys.** No record number or database id leaves: each patient, episode, visit, treated area
  and therapist gets a key that is an HMAC-SHA256 of its UUID under a salt drawn fresh for each
  export and never written down, so keys link the tables of one export and nothing else (two
  exports of the same clinic cannot be joined, and a key cannot be traced back to a record).
* **Dates.** Each patient's dates move by one random number of days (1 to 182, either way),
  derived from the same secret salt, so the intervals between a patient's own dates are kept
  while no real calendar date appears. Times of day are dropped; durations stay.
* **Ages.** Over 89 are reported as the single group "90+"; birth dates never leave.
* **Free text** (notes, goals, reasons and descriptions typed by hand) is left out; coded
  values stay.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import date, timedelta
from functools import lru_cache

MAX_SHIFT_DAYS = 182
OLDEST_EXACT_AGE = 89
OLDEST_GROUP = "90+"
KEY_HEX = 16

__all__ = [
    "MAX_SHIFT_DAYS",
    "OLDEST_GROUP",
    "Pseudonymizer",
    "age_group",
    "age_on",
    "new_salt",
]


def new_salt() -> bytes:
    """A fresh secret for one export (32 random bytes from the OS)."""
    return secrets.token_bytes(32)


def _canonical(identifier: object) -> str:
    """A UUID as 32 lowercase hex digits, whether given as ``uuid.UUID`` or as text with or
    without dashes (databases hand it back in either form)."""
    if isinstance(identifier, uuid.UUID):
        return identifier.hex
    return str(identifier).replace("-", "").lower()


class Pseudonymizer:
    """Keys and date shifts for one export; everything is derived from its secret salt.

    Rows arrive grouped by patient, so the same few ids repeat back to back: a bounded cache
    saves most of the hashing while memory stays flat.
    """

    def __init__(self, salt: bytes, *, cache: int = 8192) -> None:
        if len(salt) < 16:
            raise ValueError("the salt must be at least 16 bytes")
        self._salt = salt
        self._keys = lru_cache(maxsize=cache)(self._key)
        self._shifts = lru_cache(maxsize=cache)(self._shift_days)

    def _digest(self, purpose: str, identifier: object) -> bytes:
        message = f"{purpose}:{_canonical(identifier)}".encode()
        return hmac.digest(self._salt, message, "sha256")

    def _key(self, kind: str, identifier: object) -> str:
        return self._digest(kind, identifier).hex()[:KEY_HEX]

    def key(self, kind: str, identifier: object) -> str:
        """A stable pseudonym for ``identifier`` (a UUID) of ``kind`` within this export."""
        return self._keys(kind, identifier)

    def _shift_days(self, patient: object) -> int:
        n = int.from_bytes(self._digest("shift", patient)[:8], "big")
        magnitude = 1 + n % MAX_SHIFT_DAYS
        return magnitude if (n >> 32) % 2 else -magnitude

    def shift_days(self, patient: object) -> int:
        """The patient's date shift: never zero, at most ``MAX_SHIFT_DAYS`` either way."""
        return self._shifts(patient)

    def shift(self, patient: object, when: date | None) -> date | None:
        """``when`` moved by the patient's shift (``None`` stays ``None``)."""
        if when is None:
            return None
        return when + timedelta(days=self.shift_days(patient))


def age_on(birth: date, on: date) -> int:
    """Whole years between ``birth`` and ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_group(birth: date, on: date) -> str:
    """The age as text, with every age over 89 grouped as "90+" (Safe Harbor)."""
    years = age_on(birth, on)
    return OLDEST_GROUP if years > OLDEST_EXACT_AGE else str(max(years, 0))
