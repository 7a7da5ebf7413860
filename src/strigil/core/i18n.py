"""Translations for what the patient reads: their pages, the link email and the handout.

Why gettext catalogs compiled at run time: translators edit plain ``.po`` files (the
``locale/<lang>/LC_MESSAGES/messages.po`` files beside the package), and no generated binary
is kept in the repository or can go stale: each catalog is compiled in memory once per process
with Babel. English is the source language, so its catalog is the messages themselves.

The language of the current request or message is held in a context variable, so one shared
template environment serves patients in different languages at the same time.
"""

from __future__ import annotations

import gettext as _gettext
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files
from io import BytesIO
from typing import IO, Any

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from strigil.errors import InvalidInput

DEFAULT = "en"
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}  # each in its own language
DOMAIN = "messages"

_current: ContextVar[str] = ContextVar("strigil_language", default=DEFAULT)


def catalog_text(language: str) -> str:
    """The ``.po`` source of a language's catalog."""
    path = files("strigil") / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    return path.read_text(encoding="utf-8")


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``language``; English (and anything unknown) is the source."""
    if language not in LANGUAGES or language == DEFAULT:
        return _gettext.NullTranslations()
    catalog = read_po(BytesIO(catalog_text(language).encode("utf-8")), locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def supported(language: str | None) -> str | None:
    """``language`` if Strigil speaks it (``es-MX`` counts as ``es``), else None."""
    if not language:
        return None
    base = language.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def checked(language: str | None, field: str = "language") -> str | None:
    """``language`` when it is exactly one of ours ("en", "es"), None when not given; anything
    else is refused naming ``field``, so a typo never silently falls back to English."""
    if language is None or language == "":
        return None
    if language not in LANGUAGES:
        raise InvalidInput(
            f"{field} must be one of {', '.join(LANGUAGES)}", field=field, code="choice"
        )
    return language


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (English when none fits)."""
    preferred: list[tuple[float, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            preferred.append((-quality + n * 1e-6, tag.replace("-", "_")))
    ordered = [tag for _, tag in sorted(preferred)]
    found = negotiate_locale(ordered, list(LANGUAGES), sep="_")
    return supported(found) or DEFAULT


def current() -> str:
    """The language of what is being rendered now."""
    return _current.get()


@contextmanager
def using(language: str | None) -> Iterator[str]:
    """Render in ``language`` (English if unsupported) until the block ends."""
    chosen = supported(language) or DEFAULT
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language (itself when no translation exists)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message in the current language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).npgettext(context, singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extraction looks for
    """Mark a constant for extraction; it is translated where it is shown."""
    return message


def extract_json_texts(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: Mapping[str, str]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for catalogue JSON files: every value of the keys named in the
    file's ``keys`` option (``text`` by default) is a message, so the catalogue stays the one
    source of the English words (the consent's precaution sentences, the exercise library's
    names and instructions, the conditions' plain names)."""
    del keywords, comment_tags  # the method's signature is Babel's
    keys = set(str(options.get("keys") or "text").split())
    data = json.loads(fileobj.read().decode("utf-8"))
    stack: list[Any] = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            for key in sorted(keys & item.keys()):
                if isinstance(item[key], str):
                    yield 0, "", item[key], []
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def translate(language: str | None, message: str) -> str:
    """``message`` in ``language``, without touching the current language."""
    return translations(supported(language) or DEFAULT).gettext(message)
