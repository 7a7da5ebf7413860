"""Match keys and the birth dates search accepts."""

from __future__ import annotations

from datetime import date

import pytest

from strigil.core import identity


def test_names_fold_case_accents_and_whitespace() -> None:
    assert identity.name_key("  José  María ", "NÚÑEZ") == "jose maria|nunez"
    assert identity.name_key("Zoë", "Ångström") == identity.name_key("zoe", "angstrom")
    assert identity.name_key("Ann", "Lee") != identity.name_key("Lee", "Ann")


def test_phone_keeps_digits_only_and_ignores_short_runs() -> None:
    assert identity.phone_digits("+1 (555) 010-2000") == "15550102000"
    assert identity.phone_digits("ext. 12") is None
    assert identity.phone_digits(None) is None


def test_email_is_trimmed_and_lower_case() -> None:
    assert identity.email_key("  Ada@Example.ORG ") == "ada@example.org"
    assert identity.email_key("   ") is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-05-01", date(2024, 5, 1)),
        ("1.5.2024", date(2024, 5, 1)),
        ("01/05/2024", date(2024, 5, 1)),  # day first: 1 May, never 5 January
        ("31.12.1999", date(1999, 12, 31)),
        ("31.02.2020", None),  # no such day
        ("2024-5-1", None),
        ("05/2024", None),
        ("smith", None),
    ],
)
def test_birth_dates_iso_or_day_first(typed: str, expected: date | None) -> None:
    assert identity.parse_birth_date(typed) == expected


def test_search_digits_need_three_digits_and_phone_punctuation_only() -> None:
    assert identity.search_digits("(555) 010-2000") == "5550102000"
    assert identity.search_digits("12") is None
    assert identity.search_digits("P-0012") is None
