"""axe-core (from npm, installed by ``make install``) run inside the page under test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make install` installs it from npm")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate("options => axe.run(document, options)", RULES)[
        "violations"
    ]
    return [v for v in found if v.get("impact") in SERIOUS]


def describe(url: str, width: int, found: list[dict[str, Any]]) -> list[str]:
    """One readable line per violation: where, which rule, and the first offending nodes."""
    lines = []
    for v in found:
        nodes = "; ".join(n["html"][:120] for n in v["nodes"][:3])
        lines.append(f"{url} @{width}px {v['impact']} {v['id']}: {v['help']} — {nodes}")
    return lines
