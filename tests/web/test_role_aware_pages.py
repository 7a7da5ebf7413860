"""Pages offer only what the role may do, and an assistant's screening is kept as a draft
that a therapist checks and records (or sets aside); nothing typed is thrown away."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.core import catalog
from strigil.services import screenings, visits
from strigil.store.drafts import FormDraft

HTML = {"Accept": "text/html"}


def _answers() -> dict[str, str]:
    out = {f"ans_{r.id}": "no" for r in catalog.screening_rules()}
    return out | {"ans_R1": "yes", "reasoning": "On apixaban", "dose_modification": "Gentle"}


def test_an_assistants_screening_becomes_a_draft_the_therapist_records(
    session: Session, client: TestClient
) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic, display_name="Tess Therapist")
    assistant = make_user(session, clinic, role="assistant", display_name="Avery Assistant")
    episode = make_episode(session, therapist, make_patient(session, therapist))
    session.flush()
    url = f"/episodes/{episode.external_id}/screening"
    login(client, assistant)
    form = client.get(url, headers=HTML).text
    assert 'data-testid="assistant-screening"' in form and "Keep as a draft" in form
    kept = client.post(url, data=_answers(), headers=HTML)
    assert kept.status_code == 200 and 'data-testid="draft-kept"' in kept.text
    assert "Start a visit" not in kept.text and 'data-testid="therapist-starts"' in kept.text
    assert screenings.latest(session, episode, "intake") is None  # nothing recorded yet
    login(client, therapist)
    assert 'data-testid="draft-waiting"' in client.get(f"/episodes/{episode.external_id}").text
    form = client.get(url, headers=HTML).text
    assert "Filled in by Avery Assistant" in form
    assert 'name="ans_R1" value="yes" checked' in form and "On apixaban" in form
    draft = session.scalars(select(FormDraft)).one()
    saved = client.post(url, data=_answers() | {"draft_id": str(draft.external_id)})
    assert saved.status_code == 200
    session.expire_all()
    assert screenings.latest(session, episode, "intake") is not None
    assert draft.outcome == "saved" and draft.closed_at is not None
    assert 'data-testid="draft-loaded"' not in client.get(url, headers=HTML).text


def test_a_draft_can_be_set_aside_only_by_a_therapist(session: Session, client: TestClient) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    assistant = make_user(session, clinic, role="assistant")
    episode = make_episode(session, therapist, make_patient(session, therapist))
    session.flush()
    login(client, assistant)
    client.post(f"/episodes/{episode.external_id}/screening", data=_answers())
    draft = session.scalars(select(FormDraft)).one()
    refused = client.post(f"/screening-drafts/{draft.external_id}/set-aside", headers=HTML)
    assert refused.status_code == 403
    login(client, therapist)
    client.post(f"/screening-drafts/{draft.external_id}/set-aside")
    session.expire_all()
    assert draft.outcome == "set_aside"
    again = client.post(f"/screening-drafts/{draft.external_id}/set-aside", headers=HTML)
    assert again.status_code == 409


def test_an_assistant_sees_no_treatment_actions_on_the_visit(
    session: Session, client: TestClient
) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    assistant = make_user(session, clinic, role="assistant")
    episode = make_episode(session, therapist, make_patient(session, therapist))
    ready_for_iastm(session, therapist, episode)
    visit = visits.start(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    session.flush()
    url = f"/visits/{visit.external_id}"
    login(client, therapist)
    page = client.get(url, headers=HTML).text
    assert 'data-testid="add-area"' in page and 'data-testid="billing-form"' in page
    login(client, assistant)
    page = client.get(url, headers=HTML).text
    assert 'data-testid="add-area"' not in page and 'data-testid="billing-form"' not in page
    assert "Prescribe exercises" not in page
    assert 'data-testid="test-form"' in page and 'data-testid="note-form"' in page
    consent = client.get(f"/episodes/{episode.external_id}/consent", headers=HTML).text
    assert "Patient withdraws consent" not in consent and "Start a visit" not in consent
