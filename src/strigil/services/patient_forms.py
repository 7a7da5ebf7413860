"""The patient's side of an episode: questionnaires at home and their own progress page.

Why this shape: a questionnaire link names one episode and the measures it asks; the patient's
answers are scored by the same engine as staff entry and stored as outcome scores marked
``source="patient"`` with the link they came through and the time they arrived, so the chart
can tell them apart (ADR 0017). A questionnaire link is used up by one submission, claimed in a
single UPDATE so two racing submissions cannot both be stored. A progress link may be opened
again until it expires; it shows only that episode's own scores, the clinic's anonymous expected
course, the home programme and the clinic's phone. Links are issued, checked, throttled and
audited by :mod:`strigil.services.patient_links`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from strigil.core import i18n, measures, patient_forms, response, scoring
from strigil.core import instrument_translations as translations
from strigil.core.instrument_translations import Pack, Translations
from strigil.core.patient_forms import Screen
from strigil.core.response import ExpectedCourse
from strigil.documents import aftercare
from strigil.errors import InvalidInput
from strigil.services import audit, drafts, outcomes
from strigil.services.actors import Actor, Permission, require
from strigil.services.documents import patient_exercises
from strigil.services.patient_links import (
    LinkClosed,
    Throttle,
    audit_clinic,
    audit_patient,
    digest,
    usable,
)
from strigil.services.patient_links import (
    PatientLink as PatientLink,
)
from strigil.services.records import get_owned
from strigil.store import clinics as clinic_store
from strigil.store import patient_links as store
from strigil.store import reports as report_store
from strigil.store.base import utcnow
from strigil.store.drafts import FormDraft
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient

QUESTIONNAIRES = "questionnaires"
PROGRESS = "progress"
PURPOSES = (QUESTIONNAIRES, PROGRESS)
SINGLE_USE = {QUESTIONNAIRES: True, PROGRESS: False}
PATIENT_MARK = drafts.PATIENT_MARK


# ----------------------------------------------------------------------------- clinic side


def issue(
    *,
    session: Session,
    actor: Actor,
    episode_id: object,
    purpose: str,
    measure_codes: Sequence[str] = (),
    days: int = 7,
    language: str | None = None,
) -> tuple[str, PatientLink]:
    """Issue a questionnaire or progress link for the episode's patient; the token is returned
    once. Questionnaires default to the episode's primary measure (when a patient can answer
    it alone) and the pain rating. ``language`` is what the patient's pages open in (None:
    their browser's choice).

    Raises:
        InvalidInput: unknown purpose or language, a measure a patient cannot answer alone,
            bad days.
        NotFound: no such episode in this clinic, or it was entered in error.
    """
    require(actor, Permission.WRITE_PATIENT)
    if purpose not in PURPOSES:
        raise InvalidInput(
            f"purpose must be one of {', '.join(PURPOSES)}", field="purpose", code="choice"
        )
    if not 1 <= days <= 90:
        raise InvalidInput("days must be between 1 and 90", field="days", code="range")
    language = i18n.checked(language)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    codes = _codes(episode, measure_codes) if purpose == QUESTIONNAIRES else None
    token = secrets.token_urlsafe(32)  # as strong as a check-in link's
    link = PatientLink(
        clinic_id=actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        purpose=purpose,
        measures=list(codes) if codes else None,
        token_hash=digest(token),
        issued_by_id=actor.user_id,
        expires_at=utcnow() + timedelta(days=days),
        single_use=SINGLE_USE[purpose],
        language=language,
    )
    session.add(link)
    session.flush()
    audit_clinic(session, actor, "create", link, episode.patient)
    return token, link


def _codes(episode: Episode, chosen: Sequence[str]) -> tuple[str, ...]:
    """The measures to ask: the chosen ones, or the primary measure and the pain rating."""
    if chosen:
        wanted = [c.strip().upper() for c in chosen]
        try:
            picked = [measures.get_measure(c).code for c in wanted if c != patient_forms.SCREENING]
        except InvalidInput as error:  # the request's field is the list of measures
            raise InvalidInput(error.detail, field="measures", code=error.code) from error
        for code in picked:
            patient_forms.wording(code)
        if patient_forms.SCREENING in wanted:
            picked.append(patient_forms.SCREENING)
        return tuple(dict.fromkeys(picked))
    offered = patient_forms.answerable()
    default = [c for c in (episode.primary_measure, "NPRS") if c in offered]
    return tuple(dict.fromkeys(default))


def answerable() -> tuple[str, ...]:
    """The measures a patient can be sent (the issuing form lists them)."""
    return patient_forms.answerable()


def now() -> datetime:
    """The clock links expire by (the episode page compares against it)."""
    return utcnow()


def links_for_episode(*, session: Session, actor: Actor, episode: Episode) -> Sequence[PatientLink]:
    """The episode's patient links (the caller loaded and audited the episode)."""
    require(actor, Permission.READ_CLINICAL)
    return store.links_for_episode(session, actor.clinic_id, episode.id)


def episode_external_id(session: Session, link: PatientLink) -> object:
    """The public id of the episode a link was issued for (pages link back to it)."""
    if link.episode_id is None:
        return None
    return store.episode_of(session, link.clinic_id, link.episode_id).external_id


# ---------------------------------------------------------------------------- patient side


def open_link(
    *, session: Session, token: str, client_ip: str | None, throttle: Throttle, audited: bool
) -> PatientLink:
    """The open link behind a token, of any purpose; ``audited`` when the patient opens a page
    (the screens in between re-check the link without a new audit row each).

    Raises:
        TooManyRequests, NotFound, LinkClosed: as :func:`patient_links.usable`.
    """
    link = usable(session, token, None, client_ip, throttle)
    if audited:
        audit_patient(session, "read", link)
    return link


def screens(link: PatientLink) -> tuple[Screen, ...]:
    """The questionnaire's screens, one item each."""
    return patient_forms.screens(link.measures or [])


def wording(code: str) -> patient_forms.PatientWording:
    """How a measure is put to a patient (prompt and what the end numbers mean)."""
    return patient_forms.wording(code)


def translation(code: str, language: str, installed: Translations) -> Pack | None:
    """The clinic's checked translation of a measure's items in ``language``, if installed
    (None: the items are shown as published, or the measure is in Strigil's own words)."""
    return installed.get(code, language)


@dataclass(frozen=True, slots=True)
class CheckedTranslations:
    """A published instrument and the languages it can be put to a patient in."""

    code: str
    packs: tuple[Pack, ...]  # the clinic's checked translations, by language


def checked_translations(installed: Translations) -> tuple[CheckedTranslations, ...]:
    """Every published instrument a patient answers, with its installed translations (the
    link-issuing form says which languages each is asked in)."""
    return tuple(
        CheckedTranslations(code, installed.for_measure(code))
        for code in translations.published_instruments()
    )


def answered_in(code: str, language: str, installed: Translations) -> dict[str, str]:
    """What the record keeps about the words a patient read for ``code`` on a page in
    ``language``."""
    language = i18n.supported(language) or i18n.DEFAULT
    pack = translation(code, language, installed)
    return translations.administration(code, language, pack)


def screening_question(screen: Screen) -> str:
    """The patient's wording of a screening screen's question."""
    assert screen.rule_id is not None
    return patient_forms.SCREENING_QUESTIONS[screen.rule_id]


def may_skip(screen: Screen) -> bool:
    """Whether the patient may leave this item out: a screening question always (the
    therapist asks it), a measure's item as the measure's own rule allows."""
    if screen.measure is None:
        return True
    return patient_forms.max_missing(screen.measure) > 0


def check_answer(screen: Screen, raw: str | None) -> float | str | None:
    """One answer as a number in its item's range (a screening question: "yes" or "no"),
    None when skipped (and skipping is allowed), or a friendly InvalidInput naming the
    screen's field."""
    m = screen.measure
    text = (raw or "").strip()
    if m is None:
        if text not in ("", "yes", "no"):
            raise InvalidInput("Please answer yes or no.", field=screen.name, code="choice")
        return text or None
    item = m.items[screen.item_index]
    if not text:
        if patient_forms.max_missing(m) == 0:
            raise InvalidInput(
                "Please choose an answer: this question cannot be skipped.",
                field=screen.name,
                code="required",
            )
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    legal = value == value and item.min <= value <= item.max
    if legal and item.integer:
        legal = value == int(value)
    if not legal:
        raise InvalidInput(
            f"Please choose one of the numbers from {item.min:g} to {item.max:g}.",
            field=screen.name,
            code="range",
        )
    return int(value) if item.integer else value


def submit_questionnaires(
    *,
    session: Session,
    token: str,
    fields: Mapping[str, str],
    client_ip: str | None,
    throttle: Throttle,
    language: str = i18n.DEFAULT,
    installed: Translations = translations.NONE,
    opened: PatientLink | None = None,
) -> list[OutcomeMeasurement]:
    """Score every measure of the link and store the scores as patient-reported; the link is
    used up. Nothing is stored when any answer breaks its rule. Each score records what its
    patient read: the page's ``language`` and, where ``installed`` holds a checked
    translation for it, which one (holder, version). ``opened`` is the link as
    :func:`open_link` returned it earlier in this transaction: it is not looked up again.

    Raises:
        InvalidInput: an answer out of range, or more items skipped than a measure allows.
        LinkClosed: already submitted (also when two submissions race), revoked or expired.
        TooManyRequests, NotFound: as :func:`patient_links.usable`.
    """
    if opened is not None and opened.purpose == QUESTIONNAIRES:
        link = opened
    else:
        link = usable(session, token, QUESTIONNAIRES, client_ip, throttle)
    all_screens = screens(link)
    scored = _score_all(all_screens, fields)
    screening = _screening_answers(all_screens, fields)
    now = utcnow()
    if not store.claim(session, link, now):
        raise LinkClosed(
            "Thank you: your answers were already received. Nothing more is needed here."
        )
    assert link.episode_id is not None  # a questionnaire link always names its episode
    rows = [
        _row(link, answers, result, now, answered_in(code, language, installed))
        for code, answers, result in scored
    ]
    session.add_all(rows)
    session.flush()
    patient = store.patient_of(session, link.clinic_id, link.patient_id)
    if screening:
        _keep_screening_draft(session, link, patient, screening)
    for row in rows:
        audit.record(
            session=session,
            actor=None,
            clinic_id=link.clinic_id,
            action="create",
            entity_type="outcome_measurement",
            entity_id=row.external_id,
            patient_id=patient.external_id,
            detail={"purpose": link.purpose, "via": "patient_link", "source": "patient"},
        )
    return rows


def _score_all(
    all_screens: Sequence[Screen], fields: Mapping[str, str]
) -> list[tuple[str, list[float | None], scoring.Score]]:
    by_measure: dict[str, list[float | None]] = {}
    first: dict[str, Screen] = {}
    for screen in all_screens:
        if screen.measure is None:
            continue  # screening questions are kept as a draft, not scored
        value = check_answer(screen, fields.get(screen.name))
        assert not isinstance(value, str)  # a measure's item is a number or skipped
        by_measure.setdefault(screen.measure.code, []).append(value)
        first.setdefault(screen.measure.code, screen)
    out = []
    for code, answers in by_measure.items():
        try:
            result = scoring.score(code, answers)
        except InvalidInput as error:
            raise _too_many_skipped(first[code], answers) from error
        out.append((code, answers, result))
    return out


def _screening_answers(all_screens: Sequence[Screen], fields: Mapping[str, str]) -> dict[str, str]:
    """The screening questions the patient answered, as the screening form names them."""
    out = {}
    for screen in all_screens:
        if screen.rule_id is not None:
            value = check_answer(screen, fields.get(screen.name))
            if isinstance(value, str):
                out[f"ans_{screen.rule_id}"] = value
    return out


def _keep_screening_draft(
    session: Session, link: PatientLink, patient: Patient, answers: Mapping[str, str]
) -> None:
    """The patient's screening answers wait as a draft; they count only when a therapist
    checks them and records the screening from it (ADR 0017)."""
    assert link.episode_id is not None
    fields = {k: [v] for k, v in answers.items()} | {PATIENT_MARK: ["yes"]}
    draft = FormDraft(
        clinic_id=link.clinic_id,
        kind="screening",
        episode_id=link.episode_id,
        author_id=link.issued_by_id,
        fields=fields,
    )
    session.add(draft)
    session.flush()
    audit.record(
        session=session,
        actor=None,
        clinic_id=link.clinic_id,
        action="create",
        entity_type="screening_draft",
        entity_id=draft.external_id,
        patient_id=patient.external_id,
        detail={"purpose": link.purpose, "via": "patient_link", "source": "patient"},
    )


def _too_many_skipped(screen: Screen, answers: Sequence[float | None]) -> InvalidInput:
    m = screen.measure
    assert m is not None
    allowed = patient_forms.max_missing(m)
    return InvalidInput(
        f"Please answer at least {len(answers) - allowed} of these {len(answers)} questions.",
        field=screen.name,
        code="too_many_missing",
    )


def _row(
    link: PatientLink,
    answers: list[float | None],
    result: scoring.Score,
    now: datetime,
    administration: dict[str, str],
) -> OutcomeMeasurement:
    assert link.episode_id is not None
    return OutcomeMeasurement(
        clinic_id=link.clinic_id,
        patient_id=link.patient_id,
        episode_id=link.episode_id,
        visit_id=None,
        measure=result.measure,
        registry_version=measures.catalog_version(),
        measured_at=now,
        answers=answers,
        options={},
        score=result.score,
        subscores=dict(result.subscores),
        recorded_by_id=link.issued_by_id,  # who sent the link; the patient is not a user
        source="patient",
        patient_link_id=link.id,
        administration=administration,
    )


# ---------------------------------------------------------------------------- progress page


@dataclass(frozen=True, slots=True)
class ScoreStory:
    """One measure's course for the patient: numbers the template puts into plain words."""

    code: str
    score_name: str
    points: tuple[outcomes.Point, ...]
    improvement: float | None  # first to latest, positive = better, in points
    mcid: float | None
    mcid_source: str | None
    expected: ExpectedCourse | None


HomeExercise = aftercare.ExerciseItem  # name, dose and instructions in the patient's words


@dataclass(frozen=True, slots=True)
class PatientProgress:
    stories: tuple[ScoreStory, ...]
    exercises: tuple[HomeExercise, ...]
    expect: tuple[str, ...]
    call_if: tuple[str, ...]
    urgent: str
    clinic_name: str
    clinic_phone: str
    min_similar: int


def progress_for_patient(
    *, session: Session, link: PatientLink, language: str | None = None
) -> PatientProgress:
    """What the patient's progress page shows: only this link's episode (the caller checked
    and audited the link); the home programme in ``language`` (English by default)."""
    assert link.episode_id is not None  # a progress link always names its episode
    episode = store.episode_of(session, link.clinic_id, link.episode_id)
    clinic = clinic_store.get_clinic(session, link.clinic_id)
    with i18n.using(language):
        exercises = _exercises(session, episode)
    return PatientProgress(
        stories=_stories(session, episode),
        exercises=exercises,
        expect=aftercare.EXPECT,
        call_if=aftercare.CALL_IF,
        urgent=aftercare.URGENT,
        clinic_name=clinic.name,
        clinic_phone=clinic.phone,
        min_similar=outcomes.MIN_COMPARABLE_EPISODES,
    )


def _stories(session: Session, episode: Episode) -> tuple[ScoreStory, ...]:
    out = []
    codes = dict.fromkeys(
        [episode.primary_measure, *(r.measure for r in outcomes.list_for_episode(session, episode))]
    )
    for code in codes:
        if code not in patient_forms.WORDING:
            continue  # staff-measured (ROM, pressure threshold): not shown to patients
        m = measures.get_measure(code)
        course = outcomes.course(session, episode, m)
        mcid = m.default_mcid
        improvement = None
        if len(course.points) >= 2:
            improvement = response.change(m, course.points[0].score, course.points[-1].score)
        out.append(
            ScoreStory(
                code=code,
                score_name=patient_forms.WORDING[code].score_name,
                points=course.points,
                improvement=improvement,
                mcid=mcid.value if mcid else None,
                mcid_source=patient_source(mcid.source) if mcid else None,
                expected=course.expected,
            )
        )
    return tuple(out)


def patient_source(source: str) -> str | None:
    """The first published citation of a threshold, without the catalogue's internal source
    number or reviewer notes ("GK ... verify" is for staff, not patients)."""
    first = re.split(r"\s+-\s+GK\b", source)[0]  # the reviewer's note
    first = re.split(r";\s+(?=[A-Z][^;]* et al\.)", first)[0]  # the first citation only
    first = re.sub(r"^S\d+\s+", "", first.strip()).rstrip(" .;")
    return None if not first or first.startswith("GK") else first + "."


def _exercises(session: Session, episode: Episode) -> tuple[HomeExercise, ...]:
    """The latest after-care of the episode, in the current language."""
    _, rows = report_store.list_latest_prescriptions(session, episode.clinic_id, episode.id)
    return patient_exercises(rows)
