"""Diagnosis search in clinical words, and the plain condition names patients read."""

from __future__ import annotations

import pytest
import simple_icd_10_cm as icd

from strigil.core import diagnoses, icd10
from strigil.errors import InvalidInput

# A clinician's words → a code that must be among the first five results.
COMMON_TERMS = [
    ("tennis elbow", "M77.11"),
    ("golfer's elbow", "M77.01"),
    ("golfer", "M77.01"),
    ("plantar fasciitis", "M72.2"),
    ("heel pain", "M72.2"),
    ("achilles tendinopathy", "M76.61"),
    ("achilles tendonitis", "M76.62"),
    ("IT band syndrome", "M76.31"),
    ("jumper's knee", "M76.51"),
    ("patellar tendinopathy", "M76.52"),
    ("de Quervain", "M65.4"),
    ("carpal tunnel", "G56.01"),
    ("rotator cuff tendinopathy", "M75.81"),
    ("shoulder impingement", "M75.41"),
    ("frozen shoulder", "M75.01"),
    ("trigger finger", "M65.30"),
    ("neck pain", "M54.2"),
    ("low back pain", "M54.50"),
    ("lumbago", "M54.50"),
    ("shin splints", "S86.891A"),
    ("hamstring strain", "S76.311A"),
    ("DVT", "I82.401"),
    ("trochanteric bursitis", "M70.61"),
    ("ankle sprain", "S93.401A"),
]


@pytest.mark.parametrize(("term", "code"), COMMON_TERMS)
def test_a_clinical_term_finds_its_code_among_the_first_five(term: str, code: str) -> None:
    found = [m.code for m in diagnoses.search(term, limit=5)]
    assert code in found, (term, found)


def test_tennis_offers_tennis_elbow_before_the_racquet_injury() -> None:
    found = diagnoses.search("tennis", limit=20)
    assert found[0].code == "M77.11" and found[0].matched_term == "tennis elbow"
    assert not any("racquet" in m.title.lower() for m in found[:5])


def test_official_titles_still_match_and_common_conditions_come_first() -> None:
    codes = [m.code for m in diagnoses.search("epicondylitis", limit=10)]
    assert {"M77.11", "M77.12", "M77.01"} <= set(codes)
    titles = diagnoses.search("Achilles", limit=50)
    assert titles[0].code.startswith("M76.6")


def test_a_code_query_searches_codes_in_code_order() -> None:
    assert [m.code for m in diagnoses.search("m77.1")] == ["M77.1", "M77.10", "M77.11", "M77.12"]


def test_results_carry_the_plain_title() -> None:
    first = diagnoses.search("plantar fasciitis")[0]
    assert (first.code, first.lay_title) == ("M72.2", "Plantar fasciitis (heel pain)")


@pytest.mark.parametrize(
    ("text", "limit", "field", "code"),
    [
        ("", 20, "q", "empty_query"),
        ("   ", 20, "q", "empty_query"),
        ("x" * 81, 20, "q", "query_too_long"),
        ("pain", 0, "limit", "invalid_limit"),
        ("pain", 201, "limit", "invalid_limit"),
    ],
)
def test_bad_queries_are_refused_naming_the_field(
    text: str, limit: int, field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        diagnoses.search(text, limit=limit)
    assert (err.value.field, err.value.code) == (field, code)


def test_every_mapped_code_and_prefix_exists_in_the_code_set() -> None:
    for group in diagnoses.term_groups():
        for code in group.codes:
            assert icd10.lookup(code).billable, (group.id, code)
        for prefix in group.prefixes:
            assert icd10.lookup(prefix).code == prefix, (group.id, prefix)


def _official_words(code: str) -> set[str]:
    """Titles and tabular inclusion terms of the code and its ancestors, as word tuples."""
    chain = [code, *icd.get_ancestors(code)]
    texts = [icd.get_description(c) for c in chain if not icd.is_chapter_or_block(c)]
    texts += [t for c in chain for t in icd.get_inclusion_term(c)]
    return {" ".join(diagnoses._words(t)) for t in texts}


def test_terms_sourced_to_the_code_set_are_its_words() -> None:
    """A term marked S48 must be an official title or inclusion term (a prefix of its words
    is enough: "de Quervain" for "Radial styloid tenosynovitis [de Quervain]")."""
    for group in diagnoses.term_groups():
        official = set().union(*(_official_words(c) for c in group.codes))
        for term in group.terms:
            if "S48" in term.sources:
                words = " ".join(term.words)
                assert any(words in text for text in official), (group.id, term.term)


def test_every_term_and_plain_title_names_its_source() -> None:
    for group in diagnoses.term_groups():
        assert group.lay_sources and group.lay_title.strip(), group.id
        assert all(t.sources for t in group.terms), group.id


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("M72.2", "Plantar fasciitis (heel pain)"),
        ("M77.12", "Tennis elbow (pain on the outer side of the elbow)"),
        ("S76.311D", "Hamstring strain (a pulled muscle at the back of the thigh)"),
        ("M75.81", "Shoulder pain"),
    ],
)
def test_plain_titles_follow_the_longest_code_group(code: str, title: str) -> None:
    assert diagnoses.lay_title(code) == title


def test_plain_titles_never_read_like_a_tumour() -> None:
    for group in diagnoses.term_groups():
        assert not any(w in group.lay_title.lower() for w in ("fibromatosis", "tumour", "oma "))


def test_a_code_without_a_plain_title_keeps_its_official_one() -> None:
    assert diagnoses.patient_condition("Q66.89", "Other congenital deformities of feet") == (
        "Other congenital deformities of feet"
    )
