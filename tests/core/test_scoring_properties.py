"""Property tests: scores stay in range, worse answers never score better, missing rules hold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strigil.core.measures import Item, Measure, get_measure, measures
from strigil.core.scoring import score
from strigil.errors import InvalidInput

OPTIONS: dict[str, dict[str, Any]] = {
    "ROM": {"joint": "hip", "motion": "flexion", "side": "right"},
}
CODES = [m.code for m in measures()]


def _value(item: Item) -> st.SearchStrategy[float]:
    if item.allowed is not None:
        return st.sampled_from([float(v) for v in item.allowed])
    if item.integer:
        return st.integers(int(item.min), int(item.max)).map(float)
    return st.floats(item.min, item.max, allow_nan=False)


def _complete(m: Measure, n: int) -> st.SearchStrategy[list[float]]:
    return st.tuples(*(_value(i) for i in m.items[:n])).map(list)


@st.composite
def complete_answers(draw: st.DrawFn, code: str) -> list[float]:
    m = get_measure(code)
    return draw(_complete(m, draw(st.integers(m.min_items, m.max_items))))


def _allowed_missing(code: str, answers: list[float | None]) -> bool:
    """The published (or documented Strigil) missing-item rule, written out independently."""
    miss = [a is None for a in answers]
    k = sum(miss)
    if code in ("ODI", "NDI", "FAAM_ADL", "FAAM_SPORTS"):
        return k < len(answers)
    if code == "QUICKDASH":
        return k <= 1
    if code == "PRTEE":
        return sum(miss[:5]) <= 2 and sum(miss[5:]) <= 5
    if code == "FFI":
        return not all(miss[:9]) and not all(miss[9:18]) and not all(miss[18:])
    if code == "PSFS":
        return len(answers) - k >= 1
    return k == 0


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_score_stays_in_range(code: str, data: st.DataObject) -> None:
    m = get_measure(code)
    answers: list[float | None] = list(data.draw(complete_answers(code)))
    mask = data.draw(st.lists(st.booleans(), min_size=len(answers), max_size=len(answers)))
    blanked = [None if drop else a for a, drop in zip(answers, mask, strict=True)]
    if _allowed_missing(code, blanked):
        answers = blanked
    s = score(code, answers, **OPTIONS.get(code, {}))
    assert m.min <= s.score <= m.max
    assert s.answered + s.missing == len(answers)


def _worse(m: Measure, item: Item, value: float) -> st.SearchStrategy[float]:
    """A value for ``item`` no better than ``value`` (items rise with the measure's score)."""
    worse_up = not m.higher_is_better
    if item.allowed is not None:
        pool = [float(v) for v in item.allowed if (v >= value if worse_up else v <= value)]
        return st.sampled_from(pool)
    lo, hi = (value, item.max) if worse_up else (item.min, value)
    if item.integer:
        return st.integers(int(lo), int(hi)).map(float)
    return st.floats(lo, hi, allow_nan=False)


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_worse_answer_never_improves_the_score(code: str, data: st.DataObject) -> None:
    m = get_measure(code)
    answers = data.draw(complete_answers(code))
    i = data.draw(st.integers(0, len(answers) - 1))
    moved = list(answers)
    moved[i] = data.draw(_worse(m, m.items[i], answers[i]))
    before = score(code, list(answers), **OPTIONS.get(code, {})).score
    after = score(code, list(moved), **OPTIONS.get(code, {})).score
    if m.higher_is_better:
        assert after <= before + 1e-9
    else:
        assert after >= before - 1e-9


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_missing_items_follow_the_rule(code: str, data: st.DataObject) -> None:
    answers = data.draw(complete_answers(code))
    mask = data.draw(st.lists(st.booleans(), min_size=len(answers), max_size=len(answers)))
    blanked: list[float | None] = [
        None if drop else a for a, drop in zip(answers, mask, strict=True)
    ]
    if _allowed_missing(code, blanked):
        s = score(code, blanked, **OPTIONS.get(code, {}))
        assert s.missing == sum(mask)
    else:
        with pytest.raises(InvalidInput) as exc:
            score(code, blanked, **OPTIONS.get(code, {}))
        assert exc.value.code == "too_many_missing" and "Rule" in exc.value.detail
