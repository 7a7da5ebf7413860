"""Checked translations of published questionnaires, supplied by the clinic as packs.

Why packs: a published instrument's validity rests on its checked (cross-culturally
validated) translation, whose text belongs to its holder. Strigil ships none and makes none
up (ADR 0023); a clinic that holds one supplies it as a small JSON file, and this module is
the one judge of whether such a file may be put before patients. The rules are strict on
purpose: a pack with a missing item or the wrong measure would put an unvalidated
questionnaire in front of a patient while the record claimed a validated one, so anything
doubtful is refused, naming the field and the rule. The format is described in
``docs/instrument-translations.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strigil.core import i18n, patient_forms
from strigil.core.measures import get_measure
from strigil.errors import InvalidInput

FORMAT = 1
"""The pack format this version reads (the file's ``format`` field)."""

REQUIRED = ("format", "measure", "language", "title", "source", "version", "items")
OPTIONAL = ("prompt", "low", "high", "licence")
LIMITS = {"title": 200, "source": 300, "version": 40, "licence": 300, "item": 500}
LIMITS |= {"prompt": 500, "low": 200, "high": 200}

# What the record says about the words a patient read (``OutcomeMeasurement.administration``).
WORDING_TRANSLATION = "translation"  # a clinic's checked translation (a pack)
WORDING_PUBLISHED = "published"  # a published instrument's own items, as published (English)
WORDING_STRIGIL = "strigil"  # Strigil's own words, translated with its catalogs


@dataclass(frozen=True, slots=True)
class Pack:
    """One checked translation of one instrument into one language."""

    measure: str
    language: str
    title: str
    source: str  # the holder and citation the translation is published under
    version: str
    items: tuple[str, ...]  # in registry order, one per item
    prompt: str | None = None
    low: str | None = None
    high: str | None = None
    licence: str | None = None

    @property
    def citation(self) -> str:
        """Who holds this translation and which version it is, as the record keeps it."""
        return f"{self.source}, {self.version}"


def published_instruments() -> tuple[str, ...]:
    """Codes a pack may translate: measures a patient answers alone whose items are a
    published instrument's own (Strigil's own words, like the pain scale's, are translated
    with its catalogs instead)."""
    return tuple(c for c, w in patient_forms.WORDING.items() if not w.item_labels)


def _refuse(field_name: str, rule: str, code: str) -> InvalidInput:
    return InvalidInput(f"{field_name}: {rule}", field=field_name, code=code)


def _text(data: Mapping[str, Any], name: str, limit: int) -> str:
    """A required or given text field: a non-empty string of at most ``limit`` characters."""
    value = data[name]
    if not isinstance(value, str):
        raise _refuse(name, "must be text", "type")
    value = value.strip()
    if not value:
        raise _refuse(name, "must not be empty", "required")
    if len(value) > limit:
        raise _refuse(name, f"must be at most {limit} characters", "too_long")
    return value


def _optional(data: Mapping[str, Any], name: str) -> str | None:
    return _text(data, name, LIMITS[name]) if data.get(name) is not None else None


def _fields(data: object) -> Mapping[str, Any]:
    """The pack's fields: a JSON object with every required field and no unknown one (a
    misspelt ``promt`` must not pass as a pack without a prompt)."""
    if not isinstance(data, dict):
        raise _refuse("pack", "must be a JSON object", "type")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        allowed = ", ".join(REQUIRED + OPTIONAL)
        raise _refuse(unknown[0], f"is not a pack field (allowed: {allowed})", "unknown_field")
    for name in REQUIRED:
        if data.get(name) is None:
            raise _refuse(name, "is required", "required")
    if data["format"] != FORMAT or isinstance(data["format"], bool):
        raise _refuse("format", f"must be {FORMAT} (the pack format this Strigil reads)", "choice")
    return data


def _measure(data: Mapping[str, Any]) -> str:
    """A published instrument a patient answers alone (the registry's code, any case)."""
    raw = data["measure"]
    if not isinstance(raw, str) or not raw.strip():
        raise _refuse("measure", "must be a measure code", "type")
    try:
        code = get_measure(raw).code
    except InvalidInput:
        raise _refuse("measure", f"unknown measure {raw.strip()!r}", "unknown_measure") from None
    offered = published_instruments()
    if code not in offered:
        rule = f"{code} is not a published instrument patients answer: {', '.join(offered)}"
        raise _refuse("measure", rule, "not_published_instrument")
    return code


def _language(data: Mapping[str, Any]) -> str:
    raw = data["language"]
    if not isinstance(raw, str) or raw not in i18n.LANGUAGES:
        rule = f"must be one of Strigil's languages: {', '.join(i18n.LANGUAGES)}"
        raise _refuse("language", rule, "unknown_language")
    return raw


def _items(data: Mapping[str, Any], code: str) -> tuple[str, ...]:
    """Exactly one non-empty text per registry item, in registry order."""
    raw = data["items"]
    if not isinstance(raw, list):
        raise _refuse("items", "must be a list of texts", "type")
    expected = len(get_measure(code).items)
    if len(raw) != expected:
        rule = f"{code} has {expected} items in the registry; the pack gives {len(raw)}"
        raise _refuse("items", rule, "item_count")
    out = []
    for n, value in enumerate(raw, start=1):
        out.append(_text({f"items[{n}]": value}, f"items[{n}]", LIMITS["item"]))
    return tuple(out)


def parse(data: object) -> Pack:
    """A pack from its decoded JSON, or InvalidInput naming the field and the rule."""
    fields = _fields(data)
    code = _measure(fields)
    pack = Pack(
        measure=code,
        language=_language(fields),
        title=_text(fields, "title", LIMITS["title"]),
        source=_text(fields, "source", LIMITS["source"]),
        version=_text(fields, "version", LIMITS["version"]),
        items=_items(fields, code),
        prompt=_optional(fields, "prompt"),
        low=_optional(fields, "low"),
        high=_optional(fields, "high"),
        licence=_optional(fields, "licence"),
    )
    if (pack.low is None) != (pack.high is None):
        missing = "high" if pack.high is None else "low"
        rule = "low and high anchors come together (a scale half in one language is refused)"
        raise _refuse(missing, rule, "required")
    return pack


def loads(text: str) -> Pack:
    """A pack from a file's text; text that is not JSON is refused too."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        rule = f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        raise _refuse("pack", rule, "json") from None
    return parse(data)


@dataclass(frozen=True, slots=True)
class Translations:
    """The installed packs, one per measure and language."""

    packs: Mapping[tuple[str, str], Pack] = field(default_factory=dict)

    def get(self, measure: str, language: str) -> Pack | None:
        """The pack for ``measure`` in ``language``, if one is installed."""
        return self.packs.get((measure, language))

    def for_measure(self, measure: str) -> tuple[Pack, ...]:
        """The measure's installed packs, by language."""
        return tuple(p for (m, _), p in sorted(self.packs.items()) if m == measure)

    def all(self) -> tuple[Pack, ...]:
        return tuple(p for _, p in sorted(self.packs.items()))


NONE = Translations()


def collect(named: Iterable[tuple[str, Pack]]) -> Translations:
    """The installed set; two packs for one measure and language are refused, naming both
    (which one a patient reads must never depend on the order files are listed in)."""
    packs: dict[tuple[str, str], Pack] = {}
    origin: dict[tuple[str, str], str] = {}
    for name, pack in named:
        key = (pack.measure, pack.language)
        if key in packs:
            rule = f"{origin[key]} and {name} both translate {key[0]} into {key[1]}; keep one"
            raise InvalidInput(rule, field="measure", code="duplicate")
        packs[key], origin[key] = pack, name
    return Translations(packs)


def administration(code: str, language: str, pack: Pack | None) -> dict[str, str]:
    """What a patient-reported measurement records about the words its patient read: the
    language, and which checked translation (holder, version) when a pack was used."""
    if pack is not None:
        return {
            "language": pack.language,
            "wording": WORDING_TRANSLATION,
            "translation": pack.citation,
        }
    if code in published_instruments():
        return {"language": i18n.DEFAULT, "wording": WORDING_PUBLISHED}
    return {"language": language, "wording": WORDING_STRIGIL}


def describe(record: Mapping[str, Any] | None) -> str | None:
    """A staff-facing line for a measurement's administration record (None when unknown)."""
    if not record:
        return None
    code = str(record.get("language", ""))
    language = f"{i18n.LANGUAGES.get(code, code)} ({code})"
    wording = record.get("wording")
    if wording == WORDING_TRANSLATION:
        return f"answered in {language}, checked translation: {record.get('translation')}"
    if wording == WORDING_PUBLISHED:
        return f"answered in {language}, the published items"
    return f"answered in {language}"
