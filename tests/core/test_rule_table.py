"""The committed screening rule table is the one the catalogue renders."""

from __future__ import annotations

from pathlib import Path

from strigil.core import catalog
from strigil.core.rule_table import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "screening-rules.md"


def test_the_committed_rule_table_matches_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/screening-rules.md is out of date: run scripts/screening_rules_table.py"
    )


def test_every_rule_has_a_row_with_its_scope_and_source() -> None:
    lines = render().splitlines()
    for rule in catalog.screening_rules():
        row = next(line for line in lines if line.startswith(f"| {rule.id} |"))
        assert rule.extent.value in row and rule.sources[0] in row
    clot = next(line for line in lines if line.startswith("| A3 |"))
    assert "limb" in clot and "clearance" in clot and "every visit" in clot
