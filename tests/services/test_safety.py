"""The safety rules hold at every step of a visit, not only at the door (synthetic data)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import all_clear, recheck_in_force

from strigil.core import catalog
from strigil.core.screening import Answer, BloodPressure
from strigil.errors import Conflict, InvalidInput
from strigil.services import clearances, consents, screenings, treatment, visits
from strigil.store.audit import AuditEvent
from strigil.store.base import utcnow
from strigil.store.clinics import User
from strigil.store.episodes import Consent, Episode, Screening
from strigil.store.visits import TreatedArea, Visit

REASON = {"reasoning": "Checked with the patient.", "dose_modification": "Gentle, short."}


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _episode(session: Session, user: User, **kw: object) -> Episode:
    patient = make_patient(session, user, **{k: v for k, v in kw.items() if k == "birth_date"})
    rest = {k: v for k, v in kw.items() if k != "birth_date"}
    return make_episode(session, user, patient, **rest)


def _ready(
    session: Session, user: User, episode: Episode, *, consent: bool = True, **present: object
) -> Screening:
    answers = all_clear(**present)  # type: ignore[arg-type]
    row = screenings.screen(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        answers=answers,
        **REASON,
    )
    if consent:
        consents.record(
            session=session, actor=actor(user), episode_id=episode.external_id, decision="granted"
        )
    return row


def _start(session: Session, user: User, episode: Episode, **today: tuple[str, ...]) -> Visit:
    recheck = recheck_in_force(session, episode)
    for rule_id, regions in today.items():
        recheck[rule_id] = Answer(True, regions)
    return visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck, **REASON),
    )


def _add(
    session: Session,
    user: User,
    visit: Visit,
    site: str = "lateral_elbow",
    side: str = "right",
    intensity: str = "gentle",
    seconds: int = 0,
    *,
    confirm: bool = False,
) -> TreatedArea:
    data = treatment.AreaInput(
        site, side, "stainless_steel", intensity, seconds=seconds, confirm_other_side=confirm
    )
    return treatment.add_area(
        session=session, actor=actor(user), visit_id=visit.external_id, data=data
    )


class _Raises:
    """``with _Raises(code, field):`` — the block must raise InvalidInput with that code."""

    def __init__(self, code: str, field: str | None) -> None:
        self.code, self.field = code, field

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        assert isinstance(exc, InvalidInput), f"expected InvalidInput {self.code}, got {exc!r}"
        assert exc.code == self.code, exc.to_body()
        if self.field is not None:
            assert exc.field == self.field, exc.to_body()
        return True


# ---------------------------------------------------------------------------------------------
# 1. stop means stop


@pytest.mark.parametrize(
    ("how", "why"),
    [("reading", "tolerance reached"), ("asked", "patient request"), ("petechiae", "petechiae")],
)
def test_a_stopped_site_and_side_stay_closed_for_the_visit(
    session: Session, therapist: User, how: str, why: str
) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    visit = _start(session, therapist, episode)
    who = actor(therapist)
    area = _add(session, therapist, visit)
    if how == "reading":
        treatment.record_reading(
            session=session, actor=who, treated_area_id=area.external_id, value=6
        )
    elif how == "asked":
        treatment.record_reading(
            session=session,
            actor=who,
            treated_area_id=area.external_id,
            value=2,
            patient_asked_to_stop=True,
        )
    else:
        treatment.grade_skin(
            session=session, actor=who, treated_area_id=area.external_id, grade="petechiae"
        )
    before = session.scalar(select(func.count(TreatedArea.id)))
    with pytest.raises(InvalidInput) as refused:
        _add(session, therapist, visit)
    assert refused.value.code == "site_closed" and refused.value.field == "body_site"
    assert why in refused.value.detail
    with pytest.raises(InvalidInput, match="site_closed|stopped"):
        _add(session, therapist, visit, side="bilateral")
    assert session.scalar(select(func.count(TreatedArea.id))) == before
    # another site, and the same site on the other side, are still open
    _add(session, therapist, visit, site="forearm_extensors")
    _add(session, therapist, visit, side="left", confirm=True)


def test_bruising_on_a_completed_area_closes_the_site(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    visit = _start(session, therapist, episode)
    who = actor(therapist)
    area = _add(session, therapist, visit)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    treatment.grade_skin(
        session=session, actor=who, treated_area_id=area.external_id, grade="ecchymosis"
    )
    with _Raises("site_closed", "body_site"):
        _add(session, therapist, visit)


def test_a_stopped_area_cannot_be_resumed(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    visit = _start(session, therapist, episode)
    who = actor(therapist)
    area = _add(session, therapist, visit)
    treatment.record_reading(session=session, actor=who, treated_area_id=area.external_id, value=7)
    for attempt in (
        lambda: treatment.update_dose(
            session=session,
            actor=who,
            treated_area_id=area.external_id,
            seconds=30,
            intensity=None,
            version=None,
        ),
        lambda: treatment.record_reading(
            session=session, actor=who, treated_area_id=area.external_id, value=1
        ),
        lambda: treatment.stop_area(
            session=session, actor=who, treated_area_id=area.external_id, reason="completed"
        ),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "area_stopped"
    assert area.status == "stopped" and area.stop_reason == "tolerance_reached"


def test_a_second_start_in_the_same_visit_counts_as_retreatment(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    visit = _start(session, therapist, episode)
    who = actor(therapist)
    first = _add(session, therapist, visit)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=first.external_id, reason="completed"
    )
    second = _add(session, therapist, visit)
    assert any("wait at least 48 h" in w for w in second.warnings)


# ---------------------------------------------------------------------------------------------
# 2. scope: a clot blocks the limb on its side, and the patient until cleared


def test_a_clot_blocks_the_patient_until_cleared_then_the_whole_leg_on_its_side(
    session: Session, therapist: User
) -> None:
    episode = _episode(
        session,
        therapist,
        condition_code="M22.2X2",
        body_region="knee",
        side="left",
        primary_measure="NPRS",
    )
    screened = _ready(session, therapist, episode, A3=("lower_leg_ankle:left",))
    assert screened.result_status == "blocked"
    assert "hip_thigh:left" in screened.result["blocked_regions"]
    assert "hip_thigh:right" not in screened.result["blocked_regions"]
    visit = _start(session, therapist, episode)
    with _Raises("region_blocked", "body_site"):
        _add(session, therapist, visit, site="anterior_knee", side="right", confirm=True)
    with pytest.raises(InvalidInput, match="clearance"):
        _add(session, therapist, visit, site="lateral_elbow", side="right", confirm=True)
    clearances.record_clearance(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        rule_id="A3",
        cleared_by="Dr. Synthetic Vascular",
        cleared_at=utcnow() - timedelta(hours=2),
        note="Anticoagulated for six weeks; cleared for treatment away from the clot.",
    )
    for site in ("anterior_thigh", "anterior_knee", "calf", "plantar_fascia"):
        with _Raises("region_blocked", "body_site"):
            _add(session, therapist, visit, site=site, side="left")
        with _Raises("region_blocked", "body_site"):
            _add(session, therapist, visit, site=site, side="bilateral")
    area = _add(session, therapist, visit, site="anterior_thigh", side="right", confirm=True)
    assert area.other_side_confirmed


def test_a_clearance_needs_who_when_and_a_note(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    who = actor(therapist)
    base = {"session": session, "actor": who, "episode_id": episode.external_id}
    with _Raises("no_clearance_needed", "rule_id"):
        clearances.record_clearance(
            **base,
            rule_id="A1",
            cleared_by="X",
            cleared_at=utcnow(),
            note="n",  # type: ignore[arg-type]
        )
    with _Raises("required", "cleared_by"):
        clearances.record_clearance(
            **base,
            rule_id="A3",
            cleared_by=" ",
            cleared_at=utcnow(),
            note="n",  # type: ignore[arg-type]
        )
    with _Raises("invalid_time", "cleared_at"):
        clearances.record_clearance(
            **base,
            rule_id="A3",
            cleared_by="Dr X",
            cleared_at=utcnow() + timedelta(days=1),
            note="n",  # type: ignore[arg-type]
        )


def test_a_one_sided_block_leaves_the_other_side_open(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode, A1=("elbow_forearm:right",))
    visit = _start(session, therapist, episode)
    with _Raises("region_blocked", "body_site"):
        _add(session, therapist, visit)
    _add(session, therapist, visit, side="left", confirm=True)


# ---------------------------------------------------------------------------------------------
# 3. per-visit re-check


def test_no_area_before_todays_recheck_is_answered(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    visit = visits.start(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        data=visits.VisitStart(techniques=("manual_therapy",)),
    )
    with _Raises("recheck_required", "recheck"):
        _add(session, therapist, visit)


def _start_bp(session: Session, user: User, episode: Episode, bp: Answer, **lifts: bool) -> Visit:
    recheck = recheck_in_force(session, episode) | {"A9": bp}
    return visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck, lifts=tuple(lifts), **REASON),
    )


def test_high_blood_pressure_today_blocks_and_updates_the_episode_screening(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    intake = _ready(session, therapist, episode)
    visit = _start_bp(session, therapist, episode, Answer(False, reading=BloodPressure(190, 115)))
    with _Raises("region_blocked", "body_site"):
        _add(session, therapist, visit)
    recheck = screenings.latest(session, episode, "visit")
    assert recheck is not None and recheck.answers["A9"]["present"] is True
    assert recheck.answers["A9"]["reading"] == {"systolic": 190, "diastolic": 115}
    newest = screenings.latest(session, episode, "intake")
    assert newest is not None and newest.id != intake.id
    assert newest.answers["A9"]["present"] is True and newest.result_status == "blocked"
    assert intake.answers["A9"]["present"] is False  # the old row is kept as it was
    event = session.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_type == "screening", AuditEvent.action == "update"
        )
    )
    assert event is not None and event.detail["changed_rules"] == ["A9"]


@pytest.mark.parametrize(
    ("systolic", "diastolic", "blocked"),
    [(179, 109, False), (180, 80, True), (150, 110, True), (124, 78, False)],
)
def test_the_blood_pressure_rule_follows_the_configured_limits(
    session: Session, therapist: User, systolic: int, diastolic: int, blocked: bool
) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    bp = Answer(False, reading=BloodPressure(systolic, diastolic))
    _start_bp(session, therapist, episode, bp)
    recheck = screenings.latest(session, episode, "visit")
    assert recheck is not None and recheck.answers["A9"]["present"] is blocked


def test_a_stricter_clinic_limit_blocks_a_lower_reading(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    limits = catalog.thresholds({"bp_systolic_limit": 160})
    recheck = recheck_in_force(session, episode) | {
        "A9": Answer(False, reading=BloodPressure(165, 90))
    }
    visits.start(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck, **REASON),
        thresholds=limits,
    )
    row = screenings.latest(session, episode, "visit")
    assert row is not None and row.answers["A9"]["present"] is True


@pytest.mark.parametrize(
    ("answer", "code", "field"),
    [
        (Answer(False), "reading_required", "answers.A9.systolic"),
        (Answer(False, reading=BloodPressure(40, 30)), "invalid_reading", "answers.A9.systolic"),
        (Answer(False, reading=BloodPressure(140, 210)), "invalid_reading", "answers.A9.diastolic"),
        (Answer(False, reading=BloodPressure(90, 95)), "invalid_reading", "answers.A9.systolic"),
    ],
)
def test_a_bad_or_missing_reading_names_the_field_and_changes_nothing(
    session: Session, therapist: User, answer: Answer, code: str, field: str
) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    with _Raises(code, field), session.begin_nested():  # the request's transaction
        _start_bp(session, therapist, episode, answer)
    session.flush()
    assert session.scalar(select(func.count()).select_from(Visit)) == 0


def test_not_measured_today_takes_the_clinicians_yes_or_no(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    _start_bp(session, therapist, episode, Answer(False, measured=False))
    row = screenings.latest(session, episode, "visit")
    assert row is not None and row.answers["A9"] == {
        "present": False,
        "regions": [],
        "measured": False,
    }
    visit = _start_bp(session, therapist, episode, Answer(True, measured=False))
    with _Raises("region_blocked", "body_site"):
        _add(session, therapist, visit)


def test_the_api_shape_of_a_reading_is_checked() -> None:
    answers = screenings.parse_answers({"A9": {"systolic": 150, "diastolic": 90}})
    assert answers["A9"].reading == BloodPressure(150, 90)
    for raw, field in (
        ({"A9": {"systolic": "150", "diastolic": 90}}, "answers.A9.systolic"),
        ({"A9": {"systolic": 150}}, "answers.A9.diastolic"),
        ({"A9": {"systolic": 150, "diastolic": 90, "present": False}}, "answers.A9"),
        ({"A9": {"present": False, "measured": "no"}}, "answers.A9.measured"),
    ):
        with pytest.raises(InvalidInput) as err:
            screenings.parse_answers(raw)
        assert err.value.field == field


# ---------------------------------------------------------------------------------------------
# a re-check "no" that contradicts the screening in force


def _intake_on_anticoagulant(session: Session, user: User, episode: Episode) -> Screening:
    row = screenings.screen(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        answers=all_clear(),
        drug_classes=("anticoagulant",),
        **REASON,
    )
    consents.record(
        session=session, actor=actor(user), episode_id=episode.external_id, decision="granted"
    )
    return row


def test_the_recheck_starts_from_the_answers_in_force(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    intake = _intake_on_anticoagulant(session, therapist, episode)
    forced = screenings.in_force(session, episode)
    assert forced["R1"].present and forced["R1"].flagged_by == ("anticoagulant",)
    assert forced["R1"].since == intake.screened_at and forced["R1"].source == "intake"
    assert not forced["R22"].present
    prefill = screenings.recheck_prefill(forced)
    assert prefill["R1"].present and not prefill["R22"].present
    assert "A9" not in prefill  # today's blood pressure is measured, never carried over


def test_a_contradicting_no_without_confirmation_is_refused_and_changes_nothing(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    intake = _intake_on_anticoagulant(session, therapist, episode)
    recheck = recheck_in_force(session, episode) | {"R1": Answer(False)}
    data = visits.VisitStart(tolerance_limit=6, recheck=recheck, **REASON)
    with pytest.raises(InvalidInput) as err, session.begin_nested():
        visits.start(
            session=session, actor=actor(therapist), episode_id=episode.external_id, data=data
        )
    assert (err.value.code, err.value.field) == ("lift_unconfirmed", "answers.R1")
    assert "R1 Blood thinners" in err.value.detail and "intake" in err.value.detail
    assert err.value.extra["unconfirmed"] == ["R1"]
    session.flush()
    assert screenings.latest(session, episode, "intake").id == intake.id  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_confirmed_no_lifts_the_precaution_and_its_cap(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    intake = _intake_on_anticoagulant(session, therapist, episode)
    first = _start(session, therapist, episode)
    with _Raises("dose_above_cap", "intensity"):
        _add(session, therapist, first, intensity="moderate")
    recheck = recheck_in_force(session, episode) | {"R1": Answer(False)}
    second = visits.start(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck, lifts=("R1",), **REASON),
    )
    newest = screenings.latest(session, episode, "intake")
    assert newest is not None and newest.id != intake.id
    assert "R1" not in newest.result["applied_rules"] and "R1" not in newest.result["flagged_rules"]
    assert not screenings.in_force(session, episode)["R1"].present
    area = _add(session, therapist, second, intensity="moderate")
    assert area.intensity == "moderate"
    event = session.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_type == "screening", AuditEvent.action == "update"
        )
    )
    assert event is not None and event.detail["lifted_rules"] == ["R1"]


def test_a_lift_without_a_contradicting_no_is_refused(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _intake_on_anticoagulant(session, therapist, episode)
    recheck = recheck_in_force(session, episode)  # R1 still yes
    data = visits.VisitStart(tolerance_limit=6, recheck=recheck, lifts=("R1",), **REASON)
    with _Raises("nothing_to_lift", "lift"):
        visits.start(
            session=session, actor=actor(therapist), episode_id=episode.external_id, data=data
        )


def test_a_normal_reading_after_a_high_one_lifts_only_when_confirmed(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode)
    _start_bp(session, therapist, episode, Answer(False, reading=BloodPressure(192, 112)))
    assert screenings.in_force(session, episode)["A9"].reading == BloodPressure(192, 112)
    normal = Answer(False, reading=BloodPressure(132, 84))
    with _Raises("lift_unconfirmed", "answers.A9"), session.begin_nested():
        _start_bp(session, therapist, episode, normal)
    visit = _start_bp(session, therapist, episode, normal, A9=True)
    assert not screenings.in_force(session, episode)["A9"].present
    assert _add(session, therapist, visit).body_site == "lateral_elbow"


def test_a_no_does_not_lift_a_clot_which_needs_a_clearance(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist, body_region="knee", side="left")
    _ready(session, therapist, episode, A3=("lower_leg_ankle:left",))
    recheck = recheck_in_force(session, episode)
    assert recheck["A3"] == Answer(True, ("lower_leg_ankle:left",))
    for lifts in ((), ("A3",)):
        data = visits.VisitStart(
            tolerance_limit=6, recheck=recheck | {"A3": Answer(False)}, lifts=lifts, **REASON
        )
        with _Raises("clearance_required", "answers.A3"):
            visits.start(
                session=session, actor=actor(therapist), episode_id=episode.external_id, data=data
            )
    assert screenings.in_force(session, episode)["A3"].present


def test_a_recheck_that_agrees_with_intake_changes_nothing(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    intake = _ready(session, therapist, episode)
    _start(session, therapist, episode)
    assert screenings.latest(session, episode, "intake").id == intake.id  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# 4. can the patient take part in the stop rule


def test_a_patient_who_cannot_report_is_refused(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    _ready(session, therapist, episode, P1=())
    visit = _start(session, therapist, episode)
    with pytest.raises(InvalidInput, match="Cannot report discomfort"):
        _add(session, therapist, visit)


def test_limited_reporting_needs_reasoning_and_caps_the_dose(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    with _Raises("reasoning_required", "reasoning"):
        screenings.screen(
            session=session,
            actor=actor(therapist),
            episode_id=episode.external_id,
            answers=all_clear(P2=()),
        )
    _ready(session, therapist, episode, P2=())
    visit = _start(session, therapist, episode)
    with _Raises("dose_above_cap", "intensity"):
        _add(session, therapist, visit, intensity="moderate")
    with _Raises("dose_above_cap", "seconds"):
        _add(session, therapist, visit, seconds=61)
    area = _add(session, therapist, visit, seconds=60)
    with _Raises("dose_above_cap", "seconds"):
        treatment.update_dose(
            session=session,
            actor=actor(therapist),
            treated_area_id=area.external_id,
            seconds=90,
            intensity=None,
            version=None,
        )
    assert area.seconds == 60


def test_a_minor_needs_a_guardians_consent_and_gets_a_precaution(
    session: Session, therapist: User
) -> None:
    today = utcnow().date()
    episode = _episode(session, therapist, birth_date=date(today.year - 15, 1, 1))
    row = _ready(session, therapist, episode, consent=False)
    assert row.patient_age_years in (14, 15)
    assert "P3" in row.result["applied_rules"] and row.result_status == "precautions"
    who = actor(therapist)
    with _Raises("guardian_required", "guardian_name"):
        consents.record(
            session=session, actor=who, episode_id=episode.external_id, decision="granted"
        )
    assert (
        session.scalar(select(func.count(Consent.id)).where(Consent.episode_id == episode.id)) == 0
    )
    consent = consents.record(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        decision="granted",
        guardian_name="Synthetic Parent",
        guardian_relationship="mother",
    )
    assert (consent.guardian_name, consent.guardian_relationship) == ("Synthetic Parent", "mother")


# ---------------------------------------------------------------------------------------------
# 5. precautions shape the dose


def test_an_anticoagulant_caps_intensity_and_time(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    screenings.screen(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        answers=all_clear(),
        drug_classes=("anticoagulant",),
        **REASON,
    )
    consents.record(
        session=session, actor=actor(therapist), episode_id=episode.external_id, decision="granted"
    )
    visit = _start(session, therapist, episode)
    with pytest.raises(InvalidInput, match="R1 Blood thinners"):
        _add(session, therapist, visit, intensity="moderate")
    _add(session, therapist, visit, seconds=60)


def test_the_therapist_can_set_a_stricter_cap(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    screenings.screen(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        answers=all_clear(),
        cap_seconds=45,
    )
    consents.record(
        session=session, actor=actor(therapist), episode_id=episode.external_id, decision="granted"
    )
    visit = _start(session, therapist, episode)
    with _Raises("dose_above_cap", "seconds"):
        _add(session, therapist, visit, seconds=50)


# ---------------------------------------------------------------------------------------------
# 6. side sanity


def test_the_other_side_needs_confirmation_and_is_recorded(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)  # a right-sided episode
    _ready(session, therapist, episode)
    visit = _start(session, therapist, episode)
    with _Raises("other_side_unconfirmed", "confirm_other_side"):
        _add(session, therapist, visit, side="left")
    area = _add(session, therapist, visit, side="left", confirm=True)
    assert area.other_side_confirmed
    assert any("left side treated in a right-side episode" in w for w in area.warnings)
    assert not _add(session, therapist, visit, site="forearm_extensors").other_side_confirmed


# ---------------------------------------------------------------------------------------------
# bad input: a clear error naming the field, and nothing changed


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("answers", "extra", "field", "code"),
    [
        ({"A1": Answer(True, ("elbow",))}, {}, "answers.A1.regions", "unknown_body_region"),
        ({"A1": Answer(True, ("knee:up",))}, {}, "answers.A1.regions", "unknown_side"),
        ({}, {"cap_seconds": 99_999}, "cap_seconds", "cap_off_scale"),
        ({}, {"cap_intensity": "extreme"}, "cap_intensity", "cap_off_scale"),
    ],
)
def test_bad_screening_input_names_the_field_and_changes_nothing(
    session: Session,
    therapist: User,
    answers: dict[str, Answer],
    extra: dict[str, object],
    field: str,
    code: str,
) -> None:
    episode = _episode(session, therapist)
    before = _count(session, Screening)
    with _Raises(code, field):
        screenings.screen(
            session=session,
            actor=actor(therapist),
            episode_id=episode.external_id,
            answers=all_clear() | answers,
            **extra,  # type: ignore[arg-type]
        )
    assert _count(session, Screening) == before


def test_a_side_for_an_unpaired_site_is_refused(session: Session, therapist: User) -> None:
    episode = _episode(
        session, therapist, condition_code="M54.2", body_region="neck", side="midline"
    )
    _ready(session, therapist, episode)
    visit = _start(session, therapist, episode)
    before = _count(session, TreatedArea)
    with _Raises("side_for_unpaired_site", "side"):
        _add(session, therapist, visit, site="suboccipital", side="left")
    with _Raises("side_required", "side"):
        _add(session, therapist, visit, site="upper_trapezius", side="midline")
    assert _count(session, TreatedArea) == before
    _add(session, therapist, visit, site="suboccipital", side="midline")
