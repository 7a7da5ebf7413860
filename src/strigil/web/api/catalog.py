"""Read-only clinical catalogs: ICD-10-CM, body sites, rules, strokes, exercises, measures."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import Query

from strigil.core import catalog, diagnoses, measures
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor

router = handler_thread.router(prefix="/catalog", tags=["catalog"])


def _plain(items: Any) -> list[dict[str, Any]]:
    return [dataclasses.asdict(item) for item in items]


@router.get("/icd10")
def search_icd10(
    actor: CurrentActor,
    q: Annotated[str, Query(min_length=1, max_length=diagnoses.MAX_QUERY_LENGTH)],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[dict[str, Any]]:
    """ICD-10-CM codes for a code prefix or for clinical, lay or official words: codes reached
    through a clinical term ("tennis elbow", "DVT") first, then the commonly treated
    conditions, then other official titles. ``matched_term`` names the term that matched and
    ``lay_title`` the plain name patient documents use."""
    del actor
    return _plain(diagnoses.search(q, limit=limit))


@router.get("/body-sites")
def body_sites(actor: CurrentActor) -> list[dict[str, Any]]:
    """Body sites with their region and body-chart positions."""
    del actor
    return _plain(catalog.body_sites())


@router.get("/screening-rules")
def screening_rules(actor: CurrentActor) -> list[dict[str, Any]]:
    """The contraindication and precaution rules, each with its source."""
    del actor
    return _plain(catalog.screening_rules())


@router.get("/strokes")
def strokes(actor: CurrentActor) -> list[dict[str, Any]]:
    del actor
    return _plain(catalog.strokes())


@router.get("/exercises")
def exercises(actor: CurrentActor) -> list[dict[str, Any]]:
    del actor
    return _plain(catalog.exercises())


@router.get("/measures")
def measure_list(actor: CurrentActor) -> list[dict[str, Any]]:
    """Outcome measures with range, direction, MCID and MDC and their sources."""
    del actor
    return _plain(measures.measures())
