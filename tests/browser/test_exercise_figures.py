"""Every exercise picture drawn by a real Chromium: all 52 on one contact sheet (saved for a
person to look over, artifacts/screenshots/exercise-figures.png), each with its moving part
visibly in the brand colour and its start pose faintly behind."""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from strigil.core import catalog
from strigil.core import exercise_figures as figures

pytestmark = pytest.mark.browser

CELL = "width:240px;height:192px"


def _sheet() -> str:
    cells = "".join(
        f'<figure id="{e.code}" style="display:inline-block;margin:4px">'
        f'<div style="{CELL}">{figures.svg(e.code, e.name)}</div>'
        f'<figcaption style="font:11px sans-serif;text-align:center">{escape(e.code)}'
        "</figcaption></figure>"
        for e in catalog.exercises()
    )
    return f"<!doctype html><style>svg{{{CELL}}}</style><body style='margin:0'>{cells}</body>"


def _share(png: bytes, colour: str) -> float:
    """Share of the picture's pixels within a small distance of ``colour``."""
    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB").tobytes()
    pixels = [tuple(rgb[i : i + 3]) for i in range(0, len(rgb), 3)]
    near = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, want, strict=True)) < 40)
    return near / len(pixels)


def test_every_picture_shows_its_motion_on_a_contact_sheet(browser: Any, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1248, "height": 900})
    try:
        page.set_content(_sheet())
        page.screenshot(path=str(shots / "exercise-figures.png"), full_page=True)
        faint = []
        for exercise in catalog.exercises():
            png = page.locator(f"#{exercise.code} svg").screenshot()
            assert _share(png, figures.BRAND) > 0.004, exercise.code
            faint.append(_share(png, figures.GHOST) > 0.001)
        assert sum(faint) >= 45, "most pictures show the start pose faintly"
    finally:
        page.close()
