"""Write docs/screening-rules.md from the screening rule catalogue."""

from pathlib import Path

from strigil.core.rule_table import render

TARGET = Path(__file__).resolve().parents[1] / "docs" / "screening-rules.md"

if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.name}")
