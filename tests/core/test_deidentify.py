"""De-identification rules: stable keys per export, non-zero bounded shifts, ages over 89."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from strigil.core.deidentify import MAX_SHIFT_DAYS, Pseudonymizer, age_group, new_salt


def test_a_key_does_not_depend_on_how_the_uuid_is_written() -> None:
    keys, u = Pseudonymizer(new_salt()), uuid.uuid4()
    assert keys.key("patient", u) == keys.key("patient", u.hex) == keys.key("patient", str(u))
    assert keys.key("patient", u) != keys.key("episode", u)
    assert keys.key("patient", u) != Pseudonymizer(new_salt()).key("patient", u)


def test_shifts_are_never_zero_and_go_both_ways() -> None:
    keys = Pseudonymizer(new_salt())
    shifts = [keys.shift_days(uuid.uuid4()) for _ in range(2000)]
    assert all(1 <= abs(s) <= MAX_SHIFT_DAYS for s in shifts)
    assert min(shifts) < 0 < max(shifts)
    one = uuid.uuid4()
    assert keys.shift(one, date(2026, 1, 1)) == keys.shift(one, date(2026, 1, 1))
    assert keys.shift(one, None) is None


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (date(1936, 6, 2), date(2026, 6, 1), "89"),
        (date(1936, 6, 1), date(2026, 6, 1), "90+"),
        (date(1920, 1, 1), date(2026, 6, 1), "90+"),
        (date(2010, 6, 2), date(2026, 6, 1), "15"),
    ],
)
def test_ages_over_89_are_one_group(birth: date, on: date, expected: str) -> None:
    assert age_group(birth, on) == expected


def test_a_short_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        Pseudonymizer(b"short")
