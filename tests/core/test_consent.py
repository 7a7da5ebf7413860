"""Consent text: complete, honest, versioned and hashed over the exact text."""

from __future__ import annotations

import hashlib

import pytest

from strigil.core.consent import (
    DEFAULT_EVIDENCE_SUMMARY,
    EVIDENCE_SOURCES,
    TEMPLATE_VERSION,
    build_consent_text,
)
from strigil.errors import InvalidInput


def test_text_covers_the_required_elements() -> None:
    consent = build_consent_text("Plantar fasciitis", "IASTM to the left sole, 6 visits")
    text = consent.text.lower()
    for phrase in (
        "plantar fasciitis",
        "6 visits",
        "what it is",
        "what you may feel",
        "benefits",
        "redness",
        "petechiae",
        "bruising",
        "soreness",
        "temporarily worse",
        "may not help",
        "exercise therapy",
        "hands-on manual therapy",
        "education",
        "no treatment",
        "stop the treatment at any time",
        'say "stop"',
    ):
        assert phrase in text, phrase


def test_default_evidence_summary_is_honest_and_cited() -> None:
    text = build_consent_text("Neck pain", "IASTM to the neck").text
    assert DEFAULT_EVIDENCE_SUMMARY in text
    assert set(EVIDENCE_SOURCES) == {"S10", "S11", "S13", "S29"}
    assert "(S1" not in text  # patients read plain words, not citation keys
    assert "not shown it to work better" in DEFAULT_EVIDENCE_SUMMARY


def test_sha256_is_over_the_exact_utf8_text() -> None:
    consent = build_consent_text("Épicondylite latérale", "IASTM au coude")
    assert consent.sha256 == hashlib.sha256(consent.text.encode("utf-8")).hexdigest()
    assert consent.version == TEMPLATE_VERSION and consent.verify()


def test_hash_changes_with_any_input_and_is_stable() -> None:
    a = build_consent_text("Knee pain", "IASTM to the right knee")
    assert a == build_consent_text("Knee pain", "IASTM to the right knee")
    assert a.sha256 != build_consent_text("Knee pain", "IASTM to the left knee").sha256
    custom = build_consent_text(
        "Knee pain", "IASTM", evidence_summary="Local data: 12 of 20 improved."
    )
    assert "12 of 20 improved" in custom.text and DEFAULT_EVIDENCE_SUMMARY not in custom.text


def test_tampered_text_fails_verification() -> None:
    consent = build_consent_text("Knee pain", "IASTM")
    forged = type(consent)(consent.version, consent.text + " ", consent.sha256)
    assert not forged.verify()


def test_braces_in_input_are_kept_literally() -> None:
    assert "{plan}" in build_consent_text("X {plan}", "Y").text


@pytest.mark.parametrize(
    ("condition", "plan", "evidence", "field"),
    [
        ("", "p", None, "condition_title"),
        ("c", "  ", None, "plan"),
        ("c", "p", " ", "evidence_summary"),
    ],
)
def test_blank_fields_are_refused(
    condition: str, plan: str, evidence: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        build_consent_text(condition, plan, evidence)
    assert err.value.field == field
