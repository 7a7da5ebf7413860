"""Reliability of restriction findings: perfect agreement gives kappa 1, a known disagreement
gives the hand-computed kappa, and only the actor's clinic's checks count.

Reliability visits are built through the services: one therapist starts a visit marked
``reliability_check`` and each therapist adds their own findings with ``treatment.add_finding``.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.errors import NotPermitted
from strigil.services import reliability, treatment, visits
from strigil.store.clinics import Clinic, User
from strigil.store.visits import Visit

# Elbow/forearm region: 4 paired sites -> 8 cells in catalog order:
# lateral_elbow R/L, medial_elbow R/L, forearm_extensors R/L, forearm_flexors R/L.
# Front view x < 0.5 is the patient's right; back view x >= 0.5 is the patient's right.
RIGHT = {
    "lateral_elbow": ("front", 0.31),
    "medial_elbow": ("front", 0.355),
    "forearm_extensors": ("back", 0.69),
    "forearm_flexors": ("front", 0.32),
}


def check_visit(session: Session, clinic: Clinic, raters: list[User]) -> Visit:
    """A reliability-check visit of an elbow episode, opened by the first rater."""
    owner = raters[0]
    episode = make_episode(session, owner, make_patient(session, owner))
    ready_for_iastm(session, owner, episode)
    return visits.start(
        session=session,
        actor=actor(owner),
        episode_id=episode.external_id,
        data=visits.VisitStart(recheck=recheck_answers(), reliability_check=True),
    )


def mark(session: Session, rater: User, visit: Visit, site: str, severity: int = 2) -> None:
    view, x = RIGHT[site]
    data = treatment.FindingInput(
        chart_view=view, x=x, y=0.4, body_site=site, texture="gravelly", severity=severity
    )
    treatment.add_finding(
        session=session, actor=actor(rater), visit_id=visit.external_id, data=data
    )


@pytest.fixture
def clinic(session: Session) -> Clinic:
    return make_clinic(session)


def test_perfect_agreement_gives_kappa_one(session: Session, clinic: Clinic) -> None:
    a, b = make_user(session, clinic), make_user(session, clinic)
    visit = check_visit(session, clinic, [a, b])
    for rater in (a, b):
        mark(session, rater, visit, "lateral_elbow", 2)
        mark(session, rater, visit, "forearm_extensors", 3)
    result = reliability.clinic_reliability(session=session, actor=actor(a))
    (row,) = result.visits
    assert (row.n_raters, row.n_cells, row.n_marked) == (2, 8, 2)
    assert row.statistic == "Cohen's kappa"
    assert row.kappa == pytest.approx(1.0)
    assert row.label == "almost perfect"
    assert row.icc == pytest.approx(1.0) and row.n_icc_cells == 2
    assert result.pooled_kappa == pytest.approx(1.0)


def test_known_disagreement_matches_hand_computed_kappa(session: Session, clinic: Clinic) -> None:
    """A marks 3 right-side cells, B marks 2, they share 1; 8 cells in all.

    p_o = (1 + 4) / 8 = 0.625; p_e = (3/8)(2/8) + (5/8)(6/8) = 36/64;
    kappa = (0.625 - 0.5625) / (1 - 0.5625) = 1/7 (Cohen 1960).
    """
    a, b = make_user(session, clinic), make_user(session, clinic)
    visit = check_visit(session, clinic, [a, b])
    for site in ("lateral_elbow", "medial_elbow", "forearm_extensors"):
        mark(session, a, visit, site)
    for site in ("lateral_elbow", "forearm_flexors"):
        mark(session, b, visit, site)
    (row,) = reliability.clinic_reliability(session=session, actor=actor(a)).visits
    assert row.kappa == pytest.approx(1 / 7)
    assert row.label == "slight"
    assert row.icc is None and row.n_icc_cells == 1  # one shared site: no ICC


def test_three_raters_use_fleiss_kappa(session: Session, clinic: Clinic) -> None:
    raters = [make_user(session, clinic) for _ in range(3)]
    visit = check_visit(session, clinic, raters)
    for rater in raters:
        mark(session, rater, visit, "medial_elbow")
    (row,) = reliability.clinic_reliability(session=session, actor=actor(raters[0])).visits
    assert row.statistic == "Fleiss' kappa" and row.n_raters == 3
    assert row.kappa == pytest.approx(1.0)


def test_pooled_kappa_spans_visits(session: Session, clinic: Clinic) -> None:
    a, b = make_user(session, clinic), make_user(session, clinic)
    first, second = check_visit(session, clinic, [a, b]), check_visit(session, clinic, [a, b])
    mark(session, a, first, "lateral_elbow")
    mark(session, b, first, "lateral_elbow")
    mark(session, a, second, "medial_elbow")
    mark(session, b, second, "forearm_flexors")
    result = reliability.clinic_reliability(session=session, actor=actor(a))
    assert result.n_pooled_visits == 2 and result.n_pooled_cells == 16
    # 16 cells x 2 raters: 1 agreed present, 12 agreed absent, 2 split; Fleiss (1971) by hand:
    # p_j = (4 + 2) / 32 present; P_bar = (1 + 12 + 0 + 0 ... ) / 16 over agreeing cells.
    p_present = 4 / 32
    p_e = p_present**2 + (1 - p_present) ** 2
    p_bar = (16 - 2) / 16  # cells with both raters agreeing contribute 1, split cells 0
    assert result.pooled_kappa == pytest.approx((p_bar - p_e) / (1 - p_e))


def test_visit_owner_counts_as_rater_without_findings(session: Session, clinic: Clinic) -> None:
    a, b = make_user(session, clinic), make_user(session, clinic)
    visit = check_visit(session, clinic, [a, b])
    mark(session, b, visit, "lateral_elbow")
    (row,) = reliability.clinic_reliability(session=session, actor=actor(a)).visits
    assert row.n_raters == 2 and row.n_marked == 1
    assert row.kappa == pytest.approx(0.0)


def test_single_examiner_and_ordinary_visits_do_not_count(session: Session, clinic: Clinic) -> None:
    a = make_user(session, clinic)
    visit = check_visit(session, clinic, [a])
    mark(session, a, visit, "lateral_elbow")
    result = reliability.clinic_reliability(session=session, actor=actor(a))
    assert result.visits == () and result.message is not None
    assert "No reliability checks" in result.message


def test_other_clinics_checks_are_never_included(session: Session, clinic: Clinic) -> None:
    a, b = make_user(session, clinic), make_user(session, clinic)
    visit = check_visit(session, clinic, [a, b])
    mark(session, a, visit, "lateral_elbow")
    mark(session, b, visit, "lateral_elbow")
    other = make_clinic(session)
    c, d = make_user(session, other), make_user(session, other)
    elsewhere = check_visit(session, other, [c, d])
    mark(session, c, elsewhere, "medial_elbow")
    mark(session, d, elsewhere, "forearm_flexors")
    mine = reliability.clinic_reliability(session=session, actor=actor(a))
    assert len(mine.visits) == 1 and mine.pooled_kappa == pytest.approx(1.0)
    theirs = reliability.clinic_reliability(session=session, actor=actor(c))
    assert len(theirs.visits) == 1 and theirs.pooled_kappa is not None
    assert theirs.pooled_kappa < 0


def test_assistant_may_not_see_reliability(session: Session, clinic: Clinic) -> None:
    assistant = make_user(session, clinic, role="assistant")
    with pytest.raises(NotPermitted):
        reliability.clinic_reliability(session=session, actor=actor(assistant))


@pytest.mark.parametrize(
    ("view", "x", "side"),
    [
        ("front", 0.3, "right"),
        ("front", 0.7, "left"),
        ("back", 0.3, "left"),
        ("back", 0.7, "right"),
    ],
)
def test_side_follows_the_chart_view(view: str, x: float, side: str) -> None:
    from strigil.core import catalog

    assert reliability.side_of(catalog.body_site("lateral_elbow"), view, x) == side


def test_an_unchanged_clinic_is_answered_without_reading_its_findings(
    session: Session, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = make_user(session, clinic), make_user(session, clinic)
    visit = check_visit(session, clinic, [a, b])
    for rater in (a, b):
        mark(session, rater, visit, "lateral_elbow", 2)
    session.commit()
    first = reliability.clinic_reliability(session=session, actor=actor(a))
    session.commit()
    reads: list[int] = []
    load = reliability._load
    monkeypatch.setattr(reliability, "_load", lambda s, c: reads.append(c) or load(s, c))
    again = reliability.clinic_reliability(session=session, actor=actor(a))
    session.commit()
    assert again == first and reads == []  # served by the clinic's revision
    mark(session, b, visit, "forearm_extensors", 3)
    changed = reliability.clinic_reliability(session=session, actor=actor(a))
    assert reads == [clinic.id]  # its own uncommitted change: read afresh
    assert changed.visits[0].n_marked == 2
