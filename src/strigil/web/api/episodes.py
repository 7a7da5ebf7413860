"""Episodes of care in the JSON API."""

from __future__ import annotations

from strigil.services import episodes, patients
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas.episodes import EpisodeCreate, EpisodeRead, EpisodeUpdate

router = handler_thread.router(tags=["episodes"])


@router.get("/patients/{patient_id}/episodes", response_model=list[EpisodeRead])
def list_episodes(patient_id: str, db: DbSession, actor: CurrentActor) -> list[EpisodeRead]:
    """A patient's episodes, newest first."""
    patient = patients.get(session=db, actor=actor, patient_id=patient_id)
    return [
        EpisodeRead.of(e)
        for e in episodes.list_for_patient(session=db, actor=actor, patient=patient)
    ]


@router.post("/patients/{patient_id}/episodes", response_model=EpisodeRead, status_code=201)
def open_episode(
    patient_id: str, body: EpisodeCreate, db: DbSession, actor: CurrentActor
) -> EpisodeRead:
    """Open an episode of care (the condition must be a real ICD-10-CM code)."""
    row = episodes.open_episode(
        session=db, actor=actor, patient_id=patient_id, data=body.to_input()
    )
    return EpisodeRead.of(row)


@router.get("/episodes/{episode_id}", response_model=EpisodeRead)
def get_episode(episode_id: str, db: DbSession, actor: CurrentActor) -> EpisodeRead:
    """One episode."""
    return EpisodeRead.of(episodes.get(session=db, actor=actor, episode_id=episode_id))


@router.put("/episodes/{episode_id}", response_model=EpisodeRead)
def update_episode(
    episode_id: str, body: EpisodeUpdate, db: DbSession, actor: CurrentActor
) -> EpisodeRead:
    """Edit an episode; send the version you read (409 with current values if stale)."""
    row = episodes.update(
        session=db, actor=actor, episode_id=episode_id, data=body.to_input(), version=body.version
    )
    return EpisodeRead.of(row)
