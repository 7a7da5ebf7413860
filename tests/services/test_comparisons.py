"""The clinic comparison recovers a known IASTM effect, says when data are too few, and never
looks at another clinic's episodes."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user

from strigil.core import measures
from strigil.errors import InvalidInput, NotPermitted
from strigil.services import comparisons
from strigil.store.base import utcnow
from strigil.store.clinics import Clinic, User
from strigil.store.outcomes import OutcomeMeasurement

TRUE_EFFECT = 2.0
GROUP = "lateral_elbow"  # condition group of M77.11


def _measure(session: Session, user: User, episode: object, score: float, days: int) -> None:
    session.add(
        OutcomeMeasurement(
            clinic_id=user.clinic_id, patient_id=episode.patient_id,  # type: ignore[attr-defined]
            episode_id=episode.id, measure="NPRS", registry_version="test",  # type: ignore[attr-defined]
            measured_at=utcnow() - timedelta(days=60 - days), answers=[score], score=score,
            recorded_by_id=user.id,
        )
    )  # fmt: skip


def build(session: Session, clinic: Clinic, n: int, effect: float, seed: int = 7) -> list[User]:
    """``n`` discharged NPRS episodes; IASTM adds ``effect`` points of pain relief."""
    rng = np.random.default_rng(seed)
    staff = [make_user(session, clinic) for _ in range(3)]
    offsets = [0.0, 0.6, -0.4]  # therapist effects the random intercept should absorb
    approaches = ("iastm", "manual_therapy", "iastm", "exercise_only")
    for i in range(n):
        t = i % 3
        episode = make_episode(session, staff[t], make_patient(session, staff[t]),
                               primary_measure="NPRS")  # fmt: skip
        episode.approach, episode.status = approaches[i % 4], "discharged"
        baseline = float(rng.uniform(6, 9))
        gain = 1.0 + 0.3 * (baseline - 6) + offsets[t] + rng.normal(0, 0.5)
        gain += effect if episode.approach == "iastm" else 0.0
        _measure(session, staff[t], episode, round(baseline, 1), 0)
        _measure(session, staff[t], episode, round(baseline - gain / 2, 1), 20)
        _measure(session, staff[t], episode, float(np.clip(round(baseline - gain, 1), 0, 10)), 40)
    session.flush()
    return staff


def test_mixed_model_recovers_known_effect(session: Session) -> None:
    staff = build(session, make_clinic(session), 48, TRUE_EFFECT)
    result = comparisons.compare(
        session=session, actor=actor(staff[0]), condition_group=GROUP, measure="NPRS"
    )
    assert result.fitted and result.message is None
    assert result.estimate is not None and result.estimate > 0
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low <= TRUE_EFFECT <= result.ci_high
    assert result.pvalue is not None and result.pvalue < 0.001
    assert [a.n for a in result.arms] == [24, 24]
    assert dict(result.arms[1].approaches) == {"exercise_only": 12, "manual_therapy": 12}
    assert "random intercept for therapist" in (result.model or "")
    assert "confounding by indication" in result.caveat


def test_no_effect_gives_an_interval_around_zero(session: Session) -> None:
    staff = build(session, make_clinic(session), 48, 0.0, seed=11)
    result = comparisons.compare(
        session=session, actor=actor(staff[0]), condition_group=GROUP, measure="NPRS"
    )
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < 0 < result.ci_high


def test_too_few_episodes_say_so_and_fit_nothing(session: Session) -> None:
    staff = build(session, make_clinic(session), 6, TRUE_EFFECT)
    result = comparisons.compare(
        session=session, actor=actor(staff[0]), condition_group=GROUP, measure="NPRS"
    )
    assert not result.fitted and result.estimate is None
    assert result.message is not None and "Too few completed episodes" in result.message
    assert [a.n for a in result.arms] == [3, 3]


def test_other_clinics_episodes_are_never_included(session: Session) -> None:
    mine = build(session, make_clinic(session), 24, TRUE_EFFECT)
    build(session, make_clinic(session), 40, -5.0, seed=3)  # opposite effect elsewhere
    result = comparisons.compare(
        session=session, actor=actor(mine[0]), condition_group=GROUP, measure="NPRS"
    )
    assert sum(a.n for a in result.arms) == 24
    assert result.estimate is not None and result.estimate > 0
    options = comparisons.options(session=session, actor=actor(mine[0]))
    assert [(o.condition_group, o.measure, o.n_episodes) for o in options] == [(GROUP, "NPRS", 24)]


def test_active_episodes_and_single_measurements_are_left_out(session: Session) -> None:
    clinic = make_clinic(session)
    staff = build(session, clinic, 12, TRUE_EFFECT)
    build(session, clinic, 0, 0.0)
    episode = make_episode(session, staff[0], make_patient(session, staff[0]),
                           primary_measure="NPRS")  # fmt: skip
    _measure(session, staff[0], episode, 8.0, 0)
    _measure(session, staff[0], episode, 1.0, 30)  # active: not completed
    result = comparisons.compare(
        session=session, actor=actor(staff[0]), condition_group=GROUP, measure="NPRS"
    )
    assert sum(a.n for a in result.arms) == 12


def test_single_therapist_falls_back_to_least_squares(session: Session) -> None:
    staff = build(session, make_clinic(session), 30, TRUE_EFFECT)
    data = comparisons.changes(
        session=session, actor=actor(staff[0]), condition_group=GROUP, m=_nprs()
    )
    one = [c for c in data if c.therapist_id == staff[0].id]
    assert len(one) == 10
    _, _, _, _, desc = comparisons.fit(one)
    assert "ordinary least squares" in desc and "one therapist" in desc


def _nprs() -> measures.Measure:
    return measures.get_measure("NPRS")


def test_repeat_patients_add_a_patient_variance_component(session: Session) -> None:
    staff = build(session, make_clinic(session), 30, TRUE_EFFECT)
    data = comparisons.changes(
        session=session, actor=actor(staff[0]), condition_group=GROUP, m=_nprs()
    )
    shared = [
        comparisons.EpisodeChange(c.episode_id, data[0].patient_id if i % 5 == 0 else c.patient_id,
                                  c.therapist_id, c.approach, c.baseline, c.change)
        for i, c in enumerate(data)
    ]  # fmt: skip
    estimate, *_, desc = comparisons.fit(shared)
    assert "patient" in desc
    assert estimate > 0


def test_researcher_may_compare_but_assistant_may_not(session: Session) -> None:
    clinic = make_clinic(session)
    build(session, clinic, 12, TRUE_EFFECT)
    researcher = make_user(session, clinic, role="researcher")
    assistant = make_user(session, clinic, role="assistant")
    comparisons.compare(
        session=session, actor=actor(researcher), condition_group=GROUP, measure="NPRS"
    )
    with pytest.raises(NotPermitted):
        comparisons.compare(
            session=session, actor=actor(assistant), condition_group=GROUP, measure="NPRS"
        )


@pytest.mark.parametrize(
    ("group", "measure", "field"),
    [
        ("nonsense", "NPRS", "condition_group"),
        (GROUP, "NOPE", "measure"),
        (GROUP, "GROC", "measure"),
    ],
)
def test_bad_choices_name_the_field(session: Session, group: str, measure: str, field: str) -> None:
    user = make_user(session, make_clinic(session))
    with pytest.raises(InvalidInput) as info:
        comparisons.compare(
            session=session, actor=actor(user), condition_group=group, measure=measure
        )
    assert info.value.field == field
