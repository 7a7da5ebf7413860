"""ICD-10-CM look-up and search against the real code set (S48)."""

from __future__ import annotations

import time

import pytest

from strigil.core import catalog, icd10
from strigil.errors import InvalidInput


@pytest.mark.parametrize("given", ["M72.2", "M722", " m72.2 ", "m722"])
def test_lookup_normalises_the_code(given: str) -> None:
    found = icd10.lookup(given)
    assert found == icd10.Icd10Code("M72.2", "Plantar fascial fibromatosis", True)


def test_lookup_reports_non_billable_categories() -> None:
    found = icd10.lookup("M54")
    assert found.code == "M54" and not found.billable


def test_lookup_keeps_placeholder_and_seventh_characters() -> None:
    assert icd10.lookup("s76311a").code == "S76.311A"
    assert icd10.lookup("M22.2X1").title == "Patellofemoral disorders, right knee"


@pytest.mark.parametrize("bad", ["", "M72.9999", "ZZZ", "A00-A09", "1", "M7", "Q99.99"])
def test_lookup_refuses_unknown_codes(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        icd10.lookup(bad)
    assert (err.value.field, err.value.code) == ("condition_code", "unknown_icd10_code")


def test_every_indication_code_exists_and_matches_its_title() -> None:
    for item in catalog.indications():
        found = icd10.lookup(item.code)
        assert found.billable, item.code
        assert found.title == item.title


def test_every_screening_prefix_exists_in_the_code_set() -> None:
    for rule in catalog.screening_rules():
        for prefix in rule.icd10_prefixes:
            assert icd10.lookup(prefix).code == prefix, (rule.id, prefix)


def test_search_by_code_prefix() -> None:
    codes = [c.code for c in icd10.search("m54.5")]
    assert codes[:3] == ["M54.5", "M54.50", "M54.51"]
    assert all(c.replace(".", "").startswith("M545") for c in codes)


def test_search_by_words_requires_every_word() -> None:
    results = icd10.search("lateral epicondylitis right")
    assert [r.code for r in results] == ["M77.11"]
    titles = [r.title.lower() for r in icd10.search("Achilles", limit=50)]
    assert titles and all("achilles" in t for t in titles)


def test_search_ranks_whole_word_general_titles_first() -> None:
    assert icd10.search("low back pain")[0].code == "M54.5"


def test_search_respects_limit_and_empty_results() -> None:
    assert len(icd10.search("pain", limit=5)) == 5
    assert icd10.search("qwertyuiop") == []


@pytest.mark.parametrize(("text", "limit", "field"), [("  ", 20, "q"), ("pain", 0, "limit")])
def test_search_rejects_bad_input(text: str, limit: int, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        icd10.search(text, limit=limit)
    assert err.value.field == field


def test_search_is_fast_once_indexed() -> None:
    icd10.search("warm up the index")
    start = time.perf_counter()
    for query in ("plantar fasc", "M76", "strain thigh initial", "low back pain") * 10:
        icd10.search(query)
    per_query = (time.perf_counter() - start) / 40
    assert per_query < 0.01
