"""The patient's languages: every patient-facing message has a Spanish translation (a new
untranslated string fails here), placeholders survive translation, and the language choice
follows Accept-Language."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from strigil.core import catalog, diagnoses, i18n
from strigil.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")


def _extracted() -> dict[str | tuple[str, ...], str]:
    """Every message babel.cfg marks for translation (what `make messages` extracts)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, ...], str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found[message] = filename
    return found


def test_every_patient_message_has_a_spanish_translation() -> None:
    extracted = _extracted()
    assert len(extracted) > 60 and any("patient/checkin.html" in f for f in extracted.values())
    catalog = read_po(i18n.catalog_text("es").splitlines(keepends=True), locale="es")
    missing = []
    for msgid, filename in extracted.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key)
        strings = entry.string if entry is not None else ""
        values = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(values):
            missing.append(f"{filename}: {key!r}")
    assert missing == [], "untranslated patient strings (run `make messages`, then translate)"


def _catalogue_texts_shown_to_patients() -> dict[str, str]:
    """What the catalogues put in front of a patient, read from the catalogues themselves (not
    from babel.cfg, so dropping a file from extraction cannot hide a missing translation): the
    exercise library's names and instructions and the conditions' plain names. The validated
    questionnaires' items are left in their published wording on purpose."""
    found = {}
    for ex in catalog.exercises():
        found[ex.name] = f"exercise {ex.code} name"
        found[ex.instructions] = f"exercise {ex.code} instructions"
    for group in diagnoses.term_groups():
        found[group.lay_title] = f"condition {group.id} plain name"
    return found


def test_every_catalogue_entry_shown_to_patients_has_spanish() -> None:
    texts = _catalogue_texts_shown_to_patients()
    assert len(texts) >= 2 * len(catalog.exercises())  # every exercise has its own words
    catalog_es = read_po(i18n.catalog_text("es").splitlines(keepends=True), locale="es")
    missing = []
    for text, where in texts.items():
        entry = catalog_es.get(text)
        if entry is None or entry.fuzzy or not entry.string or entry.string == text:
            missing.append(f"{where}: {text!r}")
    assert missing == [], "catalogue text without Spanish (run `make messages`, then translate)"
    extracted = _extracted()
    assert set(texts) <= set(extracted), "babel.cfg no longer extracts every catalogue text"


def test_the_json_extractor_takes_the_keys_its_file_names() -> None:
    data = (
        b'{"a": [{"name": "Bridge", "instructions": "Lie down.", "code": "bridge"}], "text": "Top"}'
    )

    def messages(options: dict[str, str]) -> list[str]:
        return [m for _, _, m, _ in i18n.extract_json_texts(BytesIO(data), (), (), options)]

    assert messages({}) == ["Top"]
    assert sorted(messages({"keys": "name instructions"})) == ["Bridge", "Lie down."]


def test_catalogue_words_print_in_spanish_and_fall_back_to_english() -> None:
    bridge = catalog.exercise("bridge")
    with i18n.using("es"):
        assert i18n.gettext(bridge.name) == "Puente"
        assert i18n.gettext(bridge.instructions).startswith("Acuéstese boca arriba")
    assert i18n.translate("es", diagnoses.patient_condition("M72.2", "x")).startswith(
        "Fascitis plantar"
    )
    official = "Plantar fascial fibromatosis, somewhere new"  # no plain name: printed as is
    assert i18n.translate("es", official) == official
    assert i18n.translate("en", bridge.name) == "Bridge"


def test_a_language_outside_ours_is_refused_naming_the_field() -> None:
    assert i18n.checked("es") == "es" and i18n.checked(None) is None and i18n.checked("") is None
    for bad in ("xx", "es-MX", "ES", " es"):
        with pytest.raises(InvalidInput) as refused:
            i18n.checked(bad, field="language")
        assert refused.value.field == "language" and "en, es" in str(refused.value)


def test_translations_keep_their_placeholders() -> None:
    catalog = read_po(i18n.catalog_text("es").splitlines(keepends=True), locale="es")
    for entry in catalog:
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, entry.id


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("es-MX,es;q=0.9,en;q=0.5", "es"),
        ("en-GB,en;q=0.9,es;q=0.8", "en"),
        ("de-DE,fr;q=0.8", "en"),
        ("fr;q=0.9,es;q=0.5", "es"),
        ("es;q=0.2,en;q=0.8", "en"),
        ("", "en"),
        (None, "en"),
        ("es;q=abc", "en"),
        ("*", "en"),
    ],
)
def test_accept_language_picks_our_best_language(header: str | None, language: str) -> None:
    assert i18n.negotiate(header) == language


def test_the_current_language_is_scoped_and_plurals_follow_spanish_rules() -> None:
    with i18n.using("es"):
        assert i18n.gettext("Send") == "Enviar"
        assert i18n.ngettext("{n} set", "{n} sets", 1).format(n=1) == "1 serie"
        assert i18n.ngettext("{n} set", "{n} sets", 3).format(n=3) == "3 series"
        with i18n.using("xx"):
            assert i18n.gettext("Send") == "Send"
        assert i18n.current() == "es"
    assert i18n.current() == "en" and i18n.gettext("Send") == "Send"
    assert i18n.supported("es-AR") == "es" and i18n.supported("pt") is None
