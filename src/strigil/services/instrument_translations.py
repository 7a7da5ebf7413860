"""The clinic's folder of checked questionnaire translations (packs), read at start-up.

Why refuse the whole start-up over one bad file: a pack the clinic meant to install that is
quietly skipped would put the English items back before patients with nobody the wiser, and a
half-read one would put an unvalidated questionnaire before them. So every ``*.json`` file in
the folder must pass :func:`strigil.core.instrument_translations.parse`, and the error names
the file, the field and the rule. Other files (a README, the holder's licence letter) are left
alone.
"""

from __future__ import annotations

from pathlib import Path

from strigil.core import instrument_translations as packs
from strigil.core.instrument_translations import Pack as Pack
from strigil.core.instrument_translations import Translations as Translations
from strigil.errors import InvalidInput

SUFFIX = ".json"


def read_pack(path: Path) -> Pack:
    """One pack file checked, or InvalidInput whose detail starts with the file's name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "is not readable UTF-8 text"
        raise InvalidInput(f"{path.name}: {reason}", field="file", code="unreadable") from None
    try:
        return packs.loads(text)
    except InvalidInput as error:
        raise InvalidInput(
            f"{path.name}: {error.detail}", field=error.field, code=error.code
        ) from None


def load_folder(folder: Path | None) -> Translations:
    """Every pack in ``folder`` (none when no folder is configured); a folder that is set
    but missing is refused too, since the clinic expects its packs to be in use."""
    if folder is None:
        return packs.NONE
    if not folder.is_dir():
        raise InvalidInput(
            f"instrument_translations: {folder.name or folder} is not a folder",
            field="instrument_translations",
            code="not_a_folder",
        )
    files = sorted(p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file())
    try:
        return packs.collect((p.name, read_pack(p)) for p in files)
    except InvalidInput as error:
        detail = f"instrument translation refused: {error.detail}"
        raise InvalidInput(detail, field=error.field, code=error.code) from None
