"""The research export's tables and data dictionary: every column, its type, unit and meaning.

One definition serves three readers: the services build Parquet schemas from it, the export
writes it out as ``dictionary.json`` and ``dictionary.md``, and the docs point to it. Types are
named here in words (``string``, ``int32``, ``float64``, ``bool``, ``date``, ``list<string>``)
so this module stays free of any file-format library.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from strigil.core.deidentify import MAX_SHIFT_DAYS, OLDEST_GROUP

TYPES = ("string", "int32", "float64", "bool", "date", "list<string>")

SIDE = "left, right, bilateral, midline, na"
KEY = "pseudonymous key, valid within this export only"
SHIFTED = f"shifted by the patient's random offset (±1-{MAX_SHIFT_DAYS} days)"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    meaning: str
    unit: str = ""
    allowed: str = ""
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _keys(*names: str, nullable: Sequence[str] = ()) -> tuple[Column, ...]:
    meanings = {
        "patient_key": f"the patient ({KEY})",
        "episode_key": f"the episode of care ({KEY})",
        "visit_key": f"the visit ({KEY})",
        "area_key": f"the treated area ({KEY})",
        "therapist_key": f"the treating therapist ({KEY})",
    }
    return tuple(Column(n, "string", meanings[n], nullable=n in nullable) for n in names)


EPISODES = Table(
    "episodes",
    "One row per episode of care: the condition, the patient's age group and the course.",
    (
        *_keys("patient_key", "episode_key", "therapist_key"),
        Column("sex", "string", "sex as recorded", allowed="female, male, other, unknown"),
        Column(
            "age_at_start",
            "string",
            f'age in whole years at the episode start; over 89 given as "{OLDEST_GROUP}"',
            unit="years",
            allowed=f'"0" to "89", "{OLDEST_GROUP}"',
        ),
        Column("condition_code", "string", "ICD-10-CM code of the condition", allowed="ICD-10-CM"),
        Column("condition_title", "string", "the ICD-10-CM title of that code"),
        Column(
            "condition_group",
            "string",
            "the condition group used for expected courses",
            nullable=True,
        ),
        Column("body_region", "string", "body region treated (catalog code)"),
        Column("side", "string", "side of the complaint", allowed=SIDE),
        Column("chronicity", "string", "chronicity at intake", allowed="acute, subacute, chronic"),
        Column("primary_measure", "string", "code of the primary outcome measure (see outcomes)"),
        Column(
            "approach",
            "string",
            "the treatment approach of the episode",
            allowed="iastm, manual_therapy, exercise_only",
        ),
        Column("status", "string", "episode status", allowed="active, discharged"),
        Column("start_date", "date", f"first day of the episode, {SHIFTED}"),
        Column("end_date", "date", f"discharge day, {SHIFTED}", nullable=True),
        Column(
            "onset_days_before_start",
            "int32",
            "days from symptom onset to the first day of the episode",
            unit="days",
            nullable=True,
        ),
        Column("length_days", "int32", "days from start to discharge", "days", nullable=True),
    ),
)

VISITS = Table(
    "visits",
    "One row per visit (clinical encounter).",
    (
        *_keys("patient_key", "episode_key", "visit_key", "therapist_key"),
        Column("visit_number", "int32", "1 for the episode's first visit, then 2, 3, ..."),
        Column("visit_date", "date", f"day of the visit, {SHIFTED}"),
        Column("day_of_episode", "int32", "days from the episode's start to this visit", "days"),
        Column(
            "duration_minutes", "float64", "start to end of the visit", "minutes", nullable=True
        ),
        Column("status", "string", "note status", allowed="in_progress, signed"),
        Column("tolerance_limit", "int32", "discomfort limit agreed at the start", "0-10 NPRS"),
        Column(
            "techniques",
            "list<string>",
            "techniques used at the visit",
            allowed="iastm, manual_therapy, exercise_only",
        ),
        Column("reliability_check", "bool", "a second therapist also charted findings"),
    ),
)

AREAS = Table(
    "areas",
    "One row per treated area of a visit: site, instrument, dose and how treatment ended.",
    (
        *_keys("patient_key", "episode_key", "visit_key", "area_key"),
        Column("body_site", "string", "treated site (catalog code)"),
        Column("body_region", "string", "region of that site (catalog code)"),
        Column("side", "string", "side treated", allowed=SIDE),
        Column("instrument_type", "string", "instrument material or type (catalog code)"),
        Column("strokes", "list<string>", "stroke types used (catalog codes)"),
        Column("angle_deg", "int32", "instrument angle to the skin", "degrees", nullable=True),
        Column("intensity", "string", "intensity", allowed="gentle, moderate, vigorous"),
        Column("seconds", "int32", "time spent treating the area", "seconds"),
        Column("status", "string", "area status", allowed="active, stopped"),
        Column(
            "stop_reason",
            "string",
            "why treatment of the area ended (coded)",
            allowed="tolerance_reached, patient_request, petechiae, ecchymosis, time_limit, "
            "adverse_sign, completed, other",
            nullable=True,
        ),
        Column("warning_count", "int32", "safety warnings shown while recording the area"),
    ),
)

FINDINGS = Table(
    "findings",
    "One row per restriction found under the instrument, placed on the body chart.",
    (
        *_keys("patient_key", "episode_key", "visit_key", "area_key", nullable=("area_key",)),
        Column("chart_view", "string", "body chart view", allowed="front, back"),
        Column("x", "float64", "horizontal position on the chart", "0-1 of width"),
        Column("y", "float64", "vertical position on the chart", "0-1 of height"),
        Column("body_site", "string", "site of the finding (catalog code)"),
        Column("side", "string", "side of the finding", allowed=SIDE, nullable=True),
        Column("texture", "string", "texture felt", allowed="gravelly, crumbly, craggy, other"),
        Column("severity", "int32", "severity of the restriction", "1-3"),
    ),
)

READINGS = Table(
    "readings",
    "One row per discomfort rating given by the patient during treatment of an area.",
    (
        *_keys("patient_key", "episode_key", "visit_key", "area_key"),
        Column("sequence", "int32", "order of the reading within its area, from 1"),
        Column("value", "int32", "discomfort rating", "0-10 NPRS"),
        Column("patient_asked_to_stop", "bool", "the patient asked to stop at this reading"),
    ),
)

OUTCOMES = Table(
    "outcomes",
    "One row per scored outcome measure (questionnaire or test).",
    (
        *_keys("patient_key", "episode_key", "visit_key", nullable=("visit_key",)),
        Column("measure", "string", "measure code (NPRS, ODI, NDI, LEFS, QuickDASH, ...)"),
        Column("registry_version", "string", "version of the measure registry that scored it"),
        Column("score", "float64", "total score on the measure's own scale", "measure's unit"),
        Column("measured_date", "date", f"day measured, {SHIFTED}"),
        Column("day_of_episode", "int32", "days from the episode's start", "days"),
        Column("visit_number", "int32", "number of the visit it was taken at", nullable=True),
    ),
)

ADVERSE_EVENTS = Table(
    "adverse_events",
    "One row per adverse event; descriptions and follow-up text are left out.",
    (
        *_keys(
            "patient_key",
            "episode_key",
            "visit_key",
            "area_key",
            nullable=("episode_key", "visit_key", "area_key"),
        ),
        Column(
            "category",
            "string",
            "kind of event",
            allowed="bruise, skin_injury, neuro_symptoms, flare_over_48h, other",
        ),
        Column("severity", "string", "severity", allowed="mild, moderate, severe"),
        Column("referral_made", "bool", "the patient was referred on"),
        Column("status", "string", "follow-up status", allowed="open, resolved"),
        Column("onset_date", "date", f"day of onset, {SHIFTED}"),
        Column(
            "days_to_resolution", "int32", "days from onset to resolution", "days", nullable=True
        ),
    ),
)

TABLES: tuple[Table, ...] = (EPISODES, VISITS, AREAS, FINDINGS, READINGS, OUTCOMES, ADVERSE_EVENTS)

REMOVED = (
    "names, addresses, telephone numbers and email addresses of patients and staff",
    "record numbers and database ids (replaced by keys valid within one export)",
    "birth dates and every real calendar date (dates are shifted per patient; times of day "
    "are dropped)",
    f'ages over 89 (reported as "{OLDEST_GROUP}")',
    "free text: SOAP notes, goals, pre- and post-test text, stop notes, skin notes, "
    "adverse-event descriptions and follow-up, screening reasoning, addenda",
    "screening answers, consent text and signatures",
    "rows marked entered-in-error",
)


def dictionary_json() -> str:
    """The data dictionary as JSON (for programs)."""
    tables = [
        {"name": t.name, "meaning": t.meaning, "columns": [asdict(c) for c in t.columns]}
        for t in TABLES
    ]
    return json.dumps({"tables": tables, "removed": list(REMOVED)}, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def dictionary_markdown() -> str:
    """The data dictionary as Markdown (for people)."""
    lines = ["# Research export: data dictionary", ""]
    for t in TABLES:
        lines += [f"## {t.name}.parquet", "", t.meaning, ""]
        lines += ["| column | type | unit | meaning | allowed values | may be empty |"]
        lines += ["| --- | --- | --- | --- | --- | --- |"]
        for c in t.columns:
            cells = (c.name, c.type, c.unit, c.meaning, c.allowed, "yes" if c.nullable else "no")
            lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
        lines.append("")
    lines += ["## Removed before export", ""] + [f"- {r}" for r in REMOVED]
    return "\n".join(lines) + "\n"
