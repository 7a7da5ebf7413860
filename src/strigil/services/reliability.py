"""Inter-therapist reliability of restriction findings: can tight tissue be found reliably?

A visit marked ``reliability_check`` is one in which two or more therapists examine the same
patient independently and each places their own findings (``recorded_by_id``).

**Cells.** Agreement is judged on the presence of a finding per *body site and side*, not on a
pixel grid: a site is what a therapist decides to treat, so that is the clinically meaningful
unit, whereas two dots a centimetre apart on a drawn chart would count as disagreement on a grid.
The side of a paired site comes from the chart position (front view: left half of the picture is
the patient's right; back view: the patient's left). The cells of a visit are every catalogued
site (× side when paired) in the body regions examined: the episode's region and any region in
which a rater placed a finding — so that a large body of never-examined sites does not inflate
agreement on "absent".

**Raters.** The therapists who recorded a finding in the visit, plus the visit's own therapist
(who examined even if they found nothing). A second examiner who found nothing at all leaves no
trace in the record and cannot be counted — a limitation to fix with an explicit "examined"
entry if the clinic runs many such checks.

**Statistics.** Two raters: Cohen's kappa (Cohen 1960); more: Fleiss' kappa (Fleiss 1971), both
from :mod:`strigil.evidence.reliability`. Severity (1–3) agreement is ICC(2,1) (Shrout & Fleiss
1979) on the cells every rater marked, using the highest severity a rater gave that cell.
Across visits, Fleiss' kappa is pooled over all cells of the visits with the most common number
of raters (rater identities differ between visits, so a per-rater-pair Cohen's kappa does not
apply). Kappa is read with Landis & Koch's (1977) bands, which are conventions, not thresholds of
clinical adequacy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sqlalchemy.orm import Session

from strigil.core import catalog
from strigil.errors import Unavailable
from strigil.evidence.inputs import EvidenceInputError
from strigil.evidence.reliability import agreement_label, cohen_kappa, fleiss_kappa, icc
from strigil.services import audit, computations
from strigil.services.actors import Actor, Permission, require
from strigil.store import revisions
from strigil.store import visits as visit_store

Cell = tuple[str, str]  # (body site code, side)


@dataclass(frozen=True, slots=True)
class VisitAgreement:
    """Agreement in one reliability-check visit (no patient identifiers)."""

    index: int
    n_raters: int
    n_cells: int
    n_marked: int
    statistic: str
    kappa: float | None
    label: str | None
    icc: float | None
    n_icc_cells: int
    ratings: np.ndarray
    severities: np.ndarray


@dataclass(frozen=True, slots=True)
class Reliability:
    """Per-visit and pooled agreement for the actor's clinic."""

    visits: tuple[VisitAgreement, ...]
    pooled_kappa: float | None
    pooled_label: str | None
    pooled_raters: int | None
    n_pooled_visits: int
    n_pooled_cells: int
    pooled_icc: float | None
    n_icc_cells: int
    message: str | None


def side_of(site: catalog.BodySite, view: str, x: float) -> str:
    """The patient's side of a finding: charts face the viewer, so front-view left is right."""
    if not site.paired:
        return "midline"
    left_half = x < 0.5
    if view == "front":
        return "right" if left_half else "left"
    return "left" if left_half else "right"


def cells_for(regions: set[str]) -> list[Cell]:
    """Every catalogued site (and side when paired) in the examined regions, in catalog order."""
    out: list[Cell] = []
    for site in catalog.body_sites():
        if site.region in regions:
            sides = ("right", "left") if site.paired else ("midline",)
            out.extend((site.code, side) for side in sides)
    return out


class Mark(NamedTuple):
    """One finding as the agreement statistics see it (plain data, so it can key a cache)."""

    rater_id: int
    body_site: str
    chart_view: str
    x: float
    severity: int


class CheckedVisit(NamedTuple):
    """A reliability-check visit: its treating therapist, examined region and marks."""

    therapist_id: int
    region: str
    marks: tuple[Mark, ...]


def _marks(marks: Sequence[Mark]) -> dict[int, dict[Cell, int]]:
    """Per rater: the cells they marked, with the highest severity given there."""
    by_rater: dict[int, dict[Cell, int]] = defaultdict(dict)
    for m in marks:
        site = catalog.body_site(m.body_site)
        cell = (site.code, side_of(site, m.chart_view, m.x))
        given = by_rater[m.rater_id]
        given[cell] = max(given.get(cell, 0), m.severity)
    return by_rater


def visit_tables(checked: CheckedVisit) -> tuple[np.ndarray, np.ndarray] | None:
    """Presence (cells × raters, 0/1) and severity (0 = none) tables, or None with < 2 raters."""
    by_rater = _marks(checked.marks)
    raters = sorted(set(by_rater) | {checked.therapist_id})
    if len(raters) < 2:
        return None
    regions = {checked.region} | {catalog.body_site(m.body_site).region for m in checked.marks}
    cells = cells_for(regions)
    severity = np.array([[by_rater.get(r, {}).get(c, 0) for r in raters] for c in cells], float)
    return (severity > 0).astype(float), severity


def _kappa(ratings: np.ndarray) -> tuple[str, float | None]:
    name = "Cohen's kappa" if ratings.shape[1] == 2 else "Fleiss' kappa"
    try:
        if ratings.shape[1] == 2:
            return name, cohen_kappa(ratings[:, 0], ratings[:, 1])
        return name, fleiss_kappa(ratings)
    except EvidenceInputError:
        return name, None  # every cell rated the same: kappa is undefined


def _icc(severities: np.ndarray) -> tuple[float | None, int]:
    both = severities[(severities > 0).all(axis=1)]
    if both.shape[0] < 2:
        return None, int(both.shape[0])
    try:
        value = icc(both).icc_single
    except EvidenceInputError:
        return None, int(both.shape[0])
    return (None if np.isnan(value) else float(value)), int(both.shape[0])


def agreement(index: int, ratings: np.ndarray, severities: np.ndarray) -> VisitAgreement:
    name, kappa = _kappa(ratings)
    icc_value, n_icc = _icc(severities)
    return VisitAgreement(
        index, ratings.shape[1], ratings.shape[0], int((ratings.sum(axis=1) > 0).sum()), name,
        kappa, agreement_label(kappa) if kappa is not None else None, icc_value, n_icc,
        ratings, severities,
    )  # fmt: skip


def _load(session: Session, clinic_id: int) -> tuple[CheckedVisit, ...]:
    visits = visit_store.list_reliability_checks(session, clinic_id)
    by_visit: dict[int, list[Mark]] = defaultdict(list)
    for f in visit_store.list_findings_of_visits(session, clinic_id, [v.id for v, _ in visits]):
        mark = Mark(f.recorded_by_id, f.body_site, f.chart_view, f.x, f.severity)
        by_visit[f.visit_id].append(mark)
    return tuple(
        CheckedVisit(v.therapist_id, region, tuple(by_visit[v.id])) for v, region in visits
    )


def clinic_reliability(*, session: Session, actor: Actor) -> Reliability:
    """Agreement of the actor's clinic's therapists on restriction findings, visit by visit.

    The statistics are computed once per distinct set of findings and cached (ADR 0009);
    while the clinic's data revision stands, even the findings are not read again.
    """
    require(actor, Permission.ANALYTICS)
    cache = computations.cache_of("reliability", wait=60.0)
    stamp = None
    if revisions.settled(session):
        version = revisions.stamp(session, actor.clinic_id)
        stamp = computations.digest("finding_reliability_at", actor.clinic_id, version)
    result = cache.peek(stamp) if stamp else None
    if result is None:  # the clinic changed: read the findings; unchanged ones reuse the fit
        checked = _load(session, actor.clinic_id)
        key = computations.digest("finding_reliability", actor.clinic_id, checked)
        result = cache.get(key, lambda: compute(checked))
        if result is not None and stamp:
            cache.remember(stamp, result)
    if result is None:
        raise Unavailable("the agreement statistics are still being computed; try again shortly",
                          code="computing")  # fmt: skip
    audit.record(
        session=session, actor=actor, action="read", entity_type="finding_reliability",
        detail={"visits": len(result.visits)},
    )  # fmt: skip
    return result


def compute(checked: Sequence[CheckedVisit]) -> Reliability:
    """Per-visit agreement and the pooled kappa and ICC."""
    rows: list[VisitAgreement] = []
    for visit in checked:
        tables = visit_tables(visit)
        if tables is not None:
            rows.append(agreement(len(rows) + 1, *tables))
    return pooled(tuple(rows))


def pooled(visits: tuple[VisitAgreement, ...]) -> Reliability:
    """Fleiss' kappa over all cells of the visits with the modal number of raters."""
    if not visits:
        return Reliability((), None, None, None, 0, 0, None, 0, NO_VISITS)
    k = Counter(v.n_raters for v in visits).most_common(1)[0][0]
    same = [v for v in visits if v.n_raters == k]
    ratings = np.vstack([v.ratings for v in same])
    severities = np.vstack([v.severities for v in same])
    try:
        kappa: float | None = fleiss_kappa(ratings)
    except EvidenceInputError:
        kappa = None
    icc_value, n_icc = _icc(severities)
    label = agreement_label(kappa) if kappa is not None else None
    return Reliability(
        visits, kappa, label, k, len(same), int(ratings.shape[0]), icc_value, n_icc, None
    )


NO_VISITS = (
    "No reliability checks have been recorded yet. To run one, open the patient's episode, "
    "choose 'Start a visit' and tick 'Reliability check'; then let two or more therapists "
    "each examine the patient and place their own findings on the body chart without seeing "
    "the other's."
)
