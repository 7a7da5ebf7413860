"""Reading a recording from an instrumented IASTM tool: the CSV and its JSON sidecar.

The format is a stable contract (docs/sensors.md): device bridges and researchers write it, so
every rule is checked and broken input is refused with the column, the line and the rule named.
Empty cells are gaps (a dropped packet), never zeros; time itself may not have gaps.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strigil.errors import InvalidInput

__all__ = [
    "COLUMNS",
    "MAX_ABS_FORCE_N",
    "REQUIRED",
    "Recording",
    "Sidecar",
    "parse_csv",
    "parse_sidecar",
    "read_recording",
    "validate_arrays",
]

FloatArray = npt.NDArray[np.float64]

REQUIRED = ("t_s", "fz_n")
OPTIONAL = ("fx_n", "fy_n", "angle_deg")
COLUMNS = REQUIRED + OPTIONAL
# Hand-held IASTM forces are a few newtons (peaks up to ~12 N in the published studies); a
# reading beyond 500 N is a unit or calibration error, not a stroke.
MAX_ABS_FORCE_N = 500.0
ANGLE_RANGE_DEG = (0.0, 90.0)
_SIDECAR_TEXT = ("tool", "sensor")


@dataclass(frozen=True)
class Sidecar:
    """What a ``<name>.json`` sidecar may say about the recording."""

    tool: str | None = None
    sample_rate_hz: float | None = None
    sensor: str | None = None
    calibration: Any = None
    contact_threshold_n: float | None = None


@dataclass(frozen=True)
class Recording:
    """Samples in time order; NaN marks a gap in a column (an empty cell)."""

    t_s: FloatArray
    fz_n: FloatArray
    fx_n: FloatArray | None = None
    fy_n: FloatArray | None = None
    angle_deg: FloatArray | None = None
    sidecar: Sidecar = field(default_factory=Sidecar)

    @property
    def samples(self) -> int:
        """Number of rows (gaps included)."""
        return int(self.t_s.shape[0])


def _header(first_line: str) -> list[str]:
    names = [name.strip() for name in first_line.strip().lstrip("\ufeff").split(",")]
    for name in names:
        if name not in COLUMNS:
            raise InvalidInput(
                f"unknown column '{name}' in the header; allowed columns are {', '.join(COLUMNS)}",
                field="header",
                code="unknown_column",
            )
    for name in set(names):
        if names.count(name) > 1:
            raise InvalidInput(f"column '{name}' appears twice in the header", field="header")
    for name in REQUIRED:
        if name not in names:
            raise InvalidInput(
                f"the required column '{name}' is missing from the header",
                field=name,
                code="missing_column",
            )
    return names


def _fill_empty(body: str) -> str:
    """Write "nan" into empty cells so the fast C reader takes them as gaps (plain string
    replacement: several times faster than a regular expression on a 15 MB file)."""
    for _ in range(2):  # after two passes no two commas are adjacent
        body = body.replace(",,", ",nan,")
    body = body.replace(",\n", ",nan\n").replace(",\r", ",nan\r").replace("\n,", "\nnan,")
    if body.startswith(","):
        body = "nan" + body
    if body.endswith(","):
        body += "nan"
    return body


def _locate_bad_cell(lines: list[str], names: list[str]) -> InvalidInput:
    """Slow path, only after the fast parse failed: find and name the offending cell."""
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split(",")
        if len(cells) != len(names):
            return InvalidInput(
                f"line {number} has {len(cells)} cells but the header has {len(names)} columns",
                field="row",
                code="wrong_cell_count",
            )
        for name, cell in zip(names, cells, strict=True):
            text = cell.strip()
            if text == "":
                continue
            try:
                float(text)
            except ValueError:
                return InvalidInput(
                    f"line {number}, column '{name}': '{text}' is not a number",
                    field=name,
                    code="not_a_number",
                )
    return InvalidInput("the file could not be read as numbers", field="file")


def parse_csv(text: str, sidecar: Sidecar | None = None) -> Recording:
    """Parse and validate a recording; raise InvalidInput naming the column, line and rule.

    A plain numeric file is read by the fast path; anything that path refuses (a word, a
    quote, a comment, a wrong cell count, odd line breaks) is read again by the exact path,
    which names the line, so every refusal reads the same whichever path found it.
    """
    side = sidecar or Sidecar()
    fast = _parse_fast(text)
    if fast is None:
        return _parse_exact(text, side)
    columns, first_line = fast
    return validate_arrays(columns, side, first_line=first_line)


def _parse_fast(text: str) -> tuple[dict[str, FloatArray], int] | None:
    """Columns and the first data line via pyarrow's CSV reader, or None to use the exact path.

    Empty cells become NaN (gaps). The reader is stricter than the exact path (no quotes, no
    blanks around numbers, only ``\n`` / ``\r\n`` / ``\r`` line ends), so whatever it accepts
    reads to the same numbers. Imported here: pyarrow takes a while to import and most
    processes never read a CSV.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    head_end = text.find("\n")
    head = text[: head_end if head_end >= 0 else len(text)]
    if len(head.splitlines()) != 1 or not head.strip():
        return None
    names = _header(head.splitlines()[0])
    body_start = head_end + 1
    rest = text[body_start:].lstrip("\r\n") if head_end >= 0 else ""
    if not rest.strip():
        return None
    blank = len(text[body_start : len(text) - len(rest)].splitlines())
    options = {
        "read_options": pa_csv.ReadOptions(
            column_names=names, skip_rows=1, use_threads=False, block_size=1 << 24
        ),
        "parse_options": pa_csv.ParseOptions(quote_char=False, ignore_empty_lines=True),
        "convert_options": pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.float64()),
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }
    try:
        table = pa_csv.read_csv(pa.BufferReader(text.encode("utf-8")), **options)
    except (pa.ArrowInvalid, ValueError):
        return None
    columns = {name: np.array(table.column(name).to_numpy(), dtype=np.float64) for name in names}
    return columns, 2 + blank


def _parse_exact(text: str, sidecar: Sidecar) -> Recording:
    """The line-by-line path: slower, and it names the line of a cell that is not a number."""
    lines = text.splitlines(keepends=True)
    if not lines or not lines[0].strip():
        raise InvalidInput("the file is empty; it needs a header row", field="header")
    names = _header(lines[0])
    body = "".join(line for line in lines[1:] if line.strip())
    if not body:
        raise InvalidInput("the recording has no samples (only a header)", field="t_s")
    filled = _fill_empty(body)
    try:
        table = np.loadtxt(io.StringIO(filled), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        raise _locate_bad_cell(lines, names) from None
    if table.shape[1] != len(names):
        raise _locate_bad_cell(lines, names)
    columns = {name: np.ascontiguousarray(table[:, i]) for i, name in enumerate(names)}
    return validate_arrays(columns, sidecar, first_line=_first_data_line(lines))


def _first_data_line(lines: list[str]) -> int:
    """File line number of the first data row (blank lines are skipped by the parser)."""
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            return number
    return 2


def _line(index: int, first_line: int) -> int:
    return int(index) + first_line


def validate_arrays(
    columns: Mapping[str, FloatArray], sidecar: Sidecar, *, first_line: int = 2
) -> Recording:
    """Check the physical rules on column arrays (also used for streamed batches)."""
    t = np.asarray(columns["t_s"], dtype=np.float64)
    if t.size == 0:
        raise InvalidInput("the recording has no samples", field="t_s")
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise InvalidInput(
            f"line {_line(bad[0], first_line)}: t_s is empty or not finite; time may not have gaps",
            field="t_s",
            code="time_gap",
        )
    if t[0] < 0:
        raise InvalidInput(
            f"line {first_line}: t_s is {t[0]:g}; time starts at or after 0 s", field="t_s"
        )
    steps = np.flatnonzero(np.diff(t) <= 0)
    if steps.size:
        i = int(steps[0]) + 1
        raise InvalidInput(
            f"line {_line(i, first_line)}: t_s {t[i]:g} does not increase from the line before "
            f"({t[i - 1]:g}); time must strictly increase",
            field="t_s",
            code="time_not_increasing",
        )
    for name in ("fz_n", "fx_n", "fy_n"):
        if name in columns:
            _check_range(name, columns[name], -MAX_ABS_FORCE_N, MAX_ABS_FORCE_N, "N", first_line)
    if "angle_deg" in columns:
        _check_range("angle_deg", columns["angle_deg"], *ANGLE_RANGE_DEG, "°", first_line)
    return Recording(
        t_s=t,
        fz_n=np.asarray(columns["fz_n"], dtype=np.float64),
        fx_n=_optional(columns, "fx_n"),
        fy_n=_optional(columns, "fy_n"),
        angle_deg=_optional(columns, "angle_deg"),
        sidecar=sidecar,
    )


def _optional(columns: Mapping[str, FloatArray], name: str) -> FloatArray | None:
    return np.asarray(columns[name], dtype=np.float64) if name in columns else None


def _check_range(
    name: str, values: FloatArray, low: float, high: float, unit: str, first_line: int
) -> None:
    """Gaps (NaN) pass; infinities and values outside [low, high] are refused."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.isinf(values) | (values < low) | (values > high))
    if bad.size:
        i = int(bad[0])
        raise InvalidInput(
            f"line {_line(i, first_line)}: {name} is {values[i]:g} {unit}; it must lie between "
            f"{low:g} and {high:g} {unit} (physical range)",
            field=name,
            code="out_of_range",
        )


def parse_sidecar(text: str) -> Sidecar:
    """Parse the JSON sidecar; unknown keys are ignored, known ones are type-checked."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the sidecar is not valid JSON: {error.msg}", field="sidecar") from None
    if not isinstance(data, dict):
        raise InvalidInput("the sidecar must be a JSON object", field="sidecar")
    for key in _SIDECAR_TEXT:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise InvalidInput(f"sidecar '{key}' must be text", field=key)
    rate = _positive(data, "sample_rate_hz", 1e6)
    threshold = _positive(data, "contact_threshold_n", MAX_ABS_FORCE_N)
    return Sidecar(
        tool=data.get("tool"),
        sample_rate_hz=rate,
        sensor=data.get("sensor"),
        calibration=data.get("calibration"),
        contact_threshold_n=threshold,
    )


def _positive(data: Mapping[str, Any], key: str, upper: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"sidecar '{key}' must be a number", field=key)
    if not 0 < value <= upper:
        raise InvalidInput(f"sidecar '{key}' must be above 0 and at most {upper:g}", field=key)
    return float(value)


def read_recording(path: Path) -> Recording:
    """Read ``path`` and its sidecar ``<name>.json`` beside it, when there is one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot read the recording: {error.strerror}", field="file") from None
    except UnicodeDecodeError:
        raise InvalidInput("the recording is not UTF-8 text", field="file") from None
    side = path.with_suffix(".json")
    sidecar = parse_sidecar(side.read_text(encoding="utf-8")) if side.is_file() else Sidecar()
    return parse_csv(text, sidecar)
