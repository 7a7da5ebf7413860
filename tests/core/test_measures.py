"""The measure registry: complete, sourced, and honest about what is verified."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from strigil.core.measures import catalog_version, get_measure, measures
from strigil.errors import InvalidInput

EXPECTED = {
    "NPRS", "VAS", "ODI", "NDI", "LEFS", "QUICKDASH", "PRTEE", "FFI", "FAAM_ADL",
    "FAAM_SPORTS", "VISA_A", "VISA_P", "PSFS", "ROM", "PPT", "SIT_REACH", "GROC",
}  # fmt: skip


def test_every_measure_in_the_brief_is_registered() -> None:
    assert {m.code for m in measures()} == EXPECTED


def test_catalog_has_a_top_level_version() -> None:
    raw = json.loads(files("strigil.core.catalog").joinpath("measures.json").read_text())
    assert raw["version"] == catalog_version()
    assert catalog_version()


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_measure_is_complete_and_sourced(code: str) -> None:
    m = get_measure(code)
    assert m.name and m.unit and m.sources
    assert m.min < m.max
    assert m.direction in ("lower_is_better", "higher_is_better")
    assert [i.number for i in m.items] == list(range(1, len(m.items) + 1))
    assert all(0 < len(i.label) <= 40 for i in m.items), "labels are short, our own words"
    assert m.scoring["formula"] and m.scoring["source"] and m.scoring["missing"]["rule"]
    assert sum(t.default for t in m.mcid) <= 1 and sum(t.default for t in m.mdc) <= 1
    for t in m.mcid + m.mdc:
        assert t.source and t.population
        assert t.value is not None or t.percent is not None


def test_loinc_only_where_the_reference_marks_it_verified() -> None:
    verified = {m.code for m in measures() if m.loinc.get("verified")}
    assert verified == {"NPRS", "ODI", "NDI"}
    assert get_measure("NPRS").loinc["code"] == "72514-3"
    assert (get_measure("ODI").loinc["panel"], get_measure("ODI").loinc["code"]) == (
        "97908-8",
        "97909-6",
    )
    assert (get_measure("NDI").loinc["panel"], get_measure("NDI").loinc["code"]) == (
        "82226-2",
        "82237-9",
    )
    vas = get_measure("VAS").loinc
    assert vas["code"] == "38214-3" and vas["verified"] is False and "verify" in vas["note"]
    others = {m.code for m in measures() if m.loinc.get("code")} - {"NPRS", "VAS", "ODI", "NDI"}
    assert others == set()


def test_percent_thresholds_where_the_source_defines_them() -> None:
    assert get_measure("ODI").default_mcid.percent == 30  # type: ignore[union-attr]
    assert get_measure("PRTEE").default_mcid.percent == 37  # type: ignore[union-attr]
    assert get_measure("SIT_REACH").default_mdc.percent == 6.7  # type: ignore[union-attr]


def test_literature_expectation_for_rom_and_a_note_elsewhere() -> None:
    rom = get_measure("ROM").literature_expectation
    assert rom is not None and rom["value"] == 4.9 and "S13" in rom["source"]
    lefs = get_measure("LEFS").literature_expectation
    assert lefs is not None and lefs["value"] is None and lefs["note"]


def test_visa_item8_branches_are_documented() -> None:
    item8 = get_measure("VISA_A").items[7]
    assert item8.branches == {
        "A": (0, 7, 14, 21, 30), "B": (0, 4, 10, 14, 20), "C": (0, 2, 5, 7, 10),
    }  # fmt: skip
    assert get_measure("VISA_P").items[6].allowed == (0, 4, 7, 10)


def test_rom_norms_have_sources() -> None:
    rom = get_measure("ROM")
    assert rom.norm("knee", "flexion").normal == 135
    assert all(n.source for n in rom.norms)
    with pytest.raises(InvalidInput) as exc:
        rom.norm("knee", "abduction")
    assert exc.value.code == "unknown_joint_motion"


def test_get_measure_is_case_insensitive_and_rejects_unknown() -> None:
    assert get_measure("odi").code == "ODI"
    with pytest.raises(InvalidInput) as exc:
        get_measure("WOMAC")
    assert exc.value.code == "unknown_measure" and exc.value.field == "measure"
    assert exc.value.status == 422
