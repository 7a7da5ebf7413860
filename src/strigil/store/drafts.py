"""Form drafts: what someone filled in but may not record themselves, kept for someone who may.

Why: an assistant can ask a patient the 37 screening questions, but only a therapist may
record a screening. Refusing the assistant's submission would throw their work away; a draft
keeps it until a therapist checks it with the patient and saves it (or sets it aside).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, IdMixin, TenantMixin
from strigil.store.episodes import Episode


class FormDraft(IdMixin, TenantMixin, Base):
    """The fields of one form as submitted, for the record of the given kind and episode."""

    __tablename__ = "form_draft"

    kind: Mapped[str] = mapped_column(String(30))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    fields: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)  # saved | set_aside


def find_open_draft(
    session: Session, clinic_id: int, episode_id: int, kind: str
) -> FormDraft | None:
    """The newest draft of a kind for the episode that nobody has saved or set aside."""
    return session.scalar(
        select(FormDraft)
        .where(
            FormDraft.clinic_id == clinic_id,
            FormDraft.episode_id == episode_id,
            FormDraft.kind == kind,
            FormDraft.closed_at.is_(None),
        )
        .order_by(FormDraft.created_at.desc(), FormDraft.id.desc())
        .limit(1)
    )


def episode_of(session: Session, draft: FormDraft) -> Episode:
    """The episode the draft is for (same clinic by construction)."""
    return session.scalars(
        select(Episode).where(Episode.id == draft.episode_id, Episode.clinic_id == draft.clinic_id)
    ).one()


def payload(draft: FormDraft) -> dict[str, Any]:
    """The draft's fields (a copy: callers may not change the stored draft)."""
    return {k: list(v) for k, v in draft.fields.items()}
