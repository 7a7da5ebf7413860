"""The pack validator: a checked translation is taken only when every rule holds, and each
refusal names the field and the rule. Item texts here are synthetic, never real wording."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.factories import synthetic_pack

from strigil.core import instrument_translations as packs
from strigil.errors import InvalidInput


def pack(**changes: Any) -> dict[str, Any]:
    return synthetic_pack(**({"source": "Titular de prueba (sintético)"} | changes))


def refused(data: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        packs.parse(data)
    return caught.value


def test_a_good_pack_is_read_in_registry_order() -> None:
    got = packs.parse(pack(measure="quickdash", low="Ancla baja", high="Ancla alta"))
    assert got.measure == "QUICKDASH" and got.language == "es"
    assert got.items[0] == "Elemento de prueba 1" and len(got.items) == 11
    assert (got.low, got.high, got.prompt) == ("Ancla baja", "Ancla alta", None)
    assert got.citation == "Titular de prueba (sintético), 0.1-test"


@pytest.mark.parametrize(
    ("changes", "field", "code", "words"),
    [
        ({"measure": "NOPE"}, "measure", "unknown_measure", "unknown measure"),
        ({"measure": "NPRS"}, "measure", "not_published_instrument", "not a published"),
        ({"measure": "ROM"}, "measure", "not_published_instrument", "not a published"),
        ({"language": "fr"}, "language", "unknown_language", "en, es"),
        ({"language": "ES"}, "language", "unknown_language", "Strigil's languages"),
        ({"items": ["x"] * 10}, "items", "item_count", "11 items in the registry"),
        ({"items": "x"}, "items", "type", "list of texts"),
        ({"source": ...}, "source", "required", "is required"),
        ({"source": "  "}, "source", "required", "must not be empty"),
        ({"version": ...}, "version", "required", "is required"),
        ({"title": 3}, "title", "type", "must be text"),
        ({"format": 2}, "format", "choice", "must be 1"),
        ({"format": True}, "format", "choice", "must be 1"),
        ({"promt": "x"}, "promt", "unknown_field", "not a pack field"),
        ({"low": "Ancla baja"}, "high", "required", "come together"),
        ({"title": "t" * 201}, "title", "too_long", "at most 200"),
    ],
)
def test_each_refusal_names_the_field_and_the_rule(
    changes: dict[str, Any], field: str, code: str, words: str
) -> None:
    error = refused(pack(**changes))
    assert (error.field, error.code) == (field, code)
    assert error.detail.startswith(f"{field}: ") and words in error.detail


def test_an_empty_item_is_named_by_its_number() -> None:
    items = [f"Elemento de prueba {n}" for n in range(1, 12)]
    items[4] = " "
    error = refused(pack(items=items))
    assert (error.field, error.code) == ("items[5]", "required")


def test_not_an_object_and_not_json_are_refused() -> None:
    assert refused([1, 2]).field == "pack"
    with pytest.raises(InvalidInput) as caught:
        packs.loads("{not json")
    assert caught.value.code == "json" and "line 1" in caught.value.detail


def test_two_packs_for_one_measure_and_language_are_refused_naming_both() -> None:
    one = packs.parse(pack())
    with pytest.raises(InvalidInput) as caught:
        packs.collect([("a.json", one), ("b.json", one)])
    assert "a.json and b.json" in caught.value.detail and caught.value.code == "duplicate"
    installed = packs.collect([("a.json", one)])
    assert installed.get("QUICKDASH", "es") is one and installed.get("LEFS", "es") is None


def test_the_record_says_which_words_were_read() -> None:
    one = packs.parse(pack())
    assert packs.administration("QUICKDASH", "es", one) == {
        "language": "es",
        "wording": "translation",
        "translation": "Titular de prueba (sintético), 0.1-test",
    }
    assert packs.administration("QUICKDASH", "es", None) == {
        "language": "en",
        "wording": "published",
    }
    assert packs.administration("NPRS", "es", None) == {"language": "es", "wording": "strigil"}
    line = packs.describe(packs.administration("QUICKDASH", "es", one))
    assert line == "answered in Español (es), checked translation: " + one.citation
    assert packs.describe(None) is None


def test_the_documented_example_is_a_valid_pack() -> None:
    """The example in docs/instrument-translations.md passes the validator as written."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "instrument-translations.md").read_text()
    example = doc.split("```json", 1)[1].split("```", 1)[0]
    assert packs.parse(json.loads(example)).measure == "LEFS"
