"""Sign-in throttle counters, shared by every process and host through the database.

Why in the database: a counter in one process's memory lets ``--workers N`` or N hosts grant
N times the attempts and forgets everything on restart. Rows are keyed by a keyed hash of the
email or client address, never the plain value, and carry no clinic: sign-in runs before the
clinic is known, and the same row exists whether or not the email names an account.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Integer, Select, String, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base


class SigninThrottle(Base):
    """Consecutive failed sign-ins for one key (an account, an address, or the pair)."""

    __tablename__ = "signin_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


def blocked_until(*, session: Session, keys: list[str]) -> datetime | None:
    """The latest ``blocked_until`` among ``keys``, or None when none is blocked."""
    rows = session.scalars(_blocked_query(), {"keys": keys}).all()
    return max((r for r in rows if r is not None), default=None)


@cache
def _blocked_query() -> Select[datetime | None]:
    """Built once: every sign-in and every patient link screen asks it."""
    return select(SigninThrottle.blocked_until).where(
        SigninThrottle.key.in_(bindparam("keys", expanding=True)),
        SigninThrottle.blocked_until.is_not(None),
    )


def count_failure(*, session: Session, key: str, now: datetime, forget: timedelta) -> int:
    """Add one failure to ``key`` in one atomic statement (concurrent workers never lose one);
    a key quiet for longer than ``forget`` starts again from one."""
    table = SigninThrottle.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"key": key, "failures": 1, "last_failure_at": now, "blocked_until": None}
    fresh = case((table.c.last_failure_at < now - forget, 1), else_=table.c.failures + 1)
    stmt = (
        insert(SigninThrottle)
        .values(values)
        .on_conflict_do_update(
            index_elements=[table.c.key], set_={"failures": fresh, "last_failure_at": now}
        )
        .returning(table.c.failures)
    )
    return int(session.execute(stmt).scalar_one())


def block(*, session: Session, key: str, until: datetime) -> None:
    """Refuse sign-ins on ``key`` until ``until`` (never shortens a longer block)."""
    session.execute(
        update(SigninThrottle)
        .where(SigninThrottle.key == key)
        .where((SigninThrottle.blocked_until.is_(None)) | (SigninThrottle.blocked_until < until))
        .values(blocked_until=until)
    )


def clear(*, session: Session, keys: list[str]) -> None:
    """Forget the failures of ``keys`` (after a successful sign-in)."""
    session.execute(delete(SigninThrottle).where(SigninThrottle.key.in_(keys)))


def forget_idle(*, session: Session, before: datetime) -> int:
    """Drop rows whose last failure is older than ``before`` and that block nothing now."""
    result = session.execute(
        delete(SigninThrottle).where(
            SigninThrottle.last_failure_at < before,
            (SigninThrottle.blocked_until.is_(None)) | (SigninThrottle.blocked_until < before),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
