"""Bad recordings are refused with the column, the line and the rule named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from strigil.errors import InvalidInput
from strigil.sensors import parse_csv, parse_sidecar, read_recording


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("", "header", "empty"),
        ("t_s\n0\n", "fz_n", "required column 'fz_n' is missing"),
        ("fz_n\n1\n", "t_s", "required column 't_s' is missing"),
        ("t_s,fz_n,force\n0,1,2\n", "header", "unknown column 'force'"),
        ("t_s,fz_n,fz_n\n0,1,2\n", "header", "twice"),
        ("t_s,fz_n\n", "t_s", "no samples"),
        ("t_s,fz_n\n0,1\n0.2,1\n0.1,1\n", "t_s", "line 4"),
        ("t_s,fz_n\n0,1\n0,1\n", "t_s", "strictly increase"),
        ("t_s,fz_n\n-1,1\n", "t_s", "starts at or after 0"),
        ("t_s,fz_n\n0,1\n,1\n", "t_s", "line 3"),
        ("t_s,fz_n\n0,1\n0.1,10000\n", "fz_n", "line 3: fz_n is 10000 N"),
        ("t_s,fz_n\n0,1\n0.1,-600\n", "fz_n", "between -500 and 500"),
        ("t_s,fz_n,angle_deg\n0,1,95\n", "angle_deg", "between 0 and 90"),
        ("t_s,fz_n,fx_n\n0,1,inf\n", "fx_n", "physical range"),
        ("t_s,fz_n\n0,1\n0.1,abc\n", "fz_n", "line 3, column 'fz_n': 'abc' is not a number"),
        ("t_s,fz_n\n0,1\n0.1,1,3\n", "row", "line 3 has 3 cells"),
    ],
)
def test_bad_input_names_the_field_and_rule(text: str, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text)
    assert caught.value.field == field
    assert words in caught.value.detail


def test_empty_cells_are_gaps_not_zeros() -> None:
    rec = parse_csv("t_s,fz_n,fx_n,fy_n,angle_deg\n0,,1,,45\n0.01,2,,3,\n")
    assert rec.samples == 2
    assert rec.fz_n[0] != rec.fz_n[0]  # NaN
    assert rec.fz_n[1] == 2.0
    assert rec.angle_deg is not None and rec.angle_deg[1] != rec.angle_deg[1]


def test_header_may_come_in_any_order_with_a_bom_and_crlf() -> None:
    rec = parse_csv("\ufeffangle_deg,fz_n,t_s\r\n40,1.5,0\r\n41,2.5,0.01\r\n")
    assert rec.t_s.tolist() == [0.0, 0.01]
    assert rec.fz_n.tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[1]", "sidecar"),
        ("{", "sidecar"),
        ('{"contact_threshold_n": -1}', "contact_threshold_n"),
        ('{"contact_threshold_n": "high"}', "contact_threshold_n"),
        ('{"sample_rate_hz": 0}', "sample_rate_hz"),
        ('{"tool": 3}', "tool"),
    ],
)
def test_bad_sidecar(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_sidecar(text)
    assert caught.value.field == field


def test_sidecar_is_read_beside_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("t_s,fz_n\n0,1\n", encoding="utf-8")
    (tmp_path / "rec.json").write_text('{"tool": "T1", "contact_threshold_n": 0.8}', "utf-8")
    rec = read_recording(path)
    assert rec.sidecar.tool == "T1"
    assert rec.sidecar.contact_threshold_n == 0.8


def _simulated_csv() -> str:
    from strigil.sensors.simulate import simulate, to_csv

    return to_csv(simulate(4, strokes=5, sample_hz=500.0, dropouts=8))


@pytest.mark.parametrize(
    "variant",
    [
        lambda text: text,
        lambda text: text.replace("\n", "\r\n"),
        lambda text: "\ufeff" + text.replace("\n", "\n\n", 3),
        lambda text: text.rstrip("\n"),
    ],
    ids=["lf", "crlf", "bom-and-blank-lines", "no-final-newline"],
)
def test_fast_and_exact_paths_read_the_same_numbers(variant: Callable[[str], str]) -> None:
    from strigil.sensors.recording import Sidecar, _parse_exact, _parse_fast

    text = variant(_simulated_csv())
    fast = _parse_fast(text)
    assert fast is not None, "a plain numeric file takes the fast path"
    exact = _parse_exact(text, Sidecar())
    columns, first_line = fast
    assert first_line == (3 if "\n\n" in text[:40] else 2)
    assert np.isnan(columns["fz_n"]).any()  # the dropouts are gaps
    for name in ("t_s", "fz_n", "angle_deg"):
        assert np.array_equal(columns[name], getattr(exact, name), equal_nan=True), name


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('t_s,fz_n\n0,1\n0.1,"2"\n', "line 3, column 'fz_n'"),
        ("t_s,fz_n\n0,1\n0.1\n", "line 3 has 1 cells"),
        ("t_s,fz_n\r0,1\r0.1,x\r", "line 3, column 'fz_n': 'x' is not a number"),
    ],
)
def test_what_the_fast_path_refuses_is_named_by_the_exact_path(text: str, words: str) -> None:
    from strigil.sensors.recording import _parse_fast

    assert _parse_fast(text) is None
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text)
    assert words in caught.value.detail


def test_a_bad_cell_deep_in_a_long_file_is_named_by_its_line() -> None:
    lines = _simulated_csv().splitlines()
    lines[4000] = lines[4000].split(",")[0] + ",12..5," + lines[4000].split(",")[2]
    with pytest.raises(InvalidInput) as caught:
        parse_csv("\n".join(lines) + "\n")
    assert caught.value.detail == "line 4001, column 'fz_n': '12..5' is not a number"


def test_line_numbers_count_blank_lines_after_the_header() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv("t_s,fz_n\n\n\n0,1\n0.2,1\n0.1,1\n")
    assert caught.value.detail.startswith("line 6: t_s 0.1 does not increase")
