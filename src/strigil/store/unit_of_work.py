"""The unit of work: one transaction per web request or CLI command, owned in one place.

Why: a handler that commits or rolls back on its own can end the clinic scope half-way
through a request, and a session opened without an owner can hold a connection nobody
releases. The web layer and the CLI open a unit of work; services only flush; the owner
commits when the request succeeded and rolls back otherwise. Code that must try something
and carry on uses a savepoint (``session.begin_nested()``), never ``rollback()``.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from strigil.store import tenancy


class UnitOfWork:
    """A lazily opened session whose transactions all run in the actor's scope.

    ``restricted`` (the default, for requests) runs every transaction as the application
    role on PostgreSQL; admin commands run unrestricted as the owner they connect as.
    """

    def __init__(self, factory: sessionmaker[Session], *, restricted: bool = True) -> None:
        self._factory = factory
        self._restricted = restricted
        self._session: Session | None = None
        self.keep_when_refused = False

    @property
    def session(self) -> Session:
        """The session, created on first use (creating one does no I/O)."""
        if self._session is None:
            self._session = self._factory()
            if self._restricted:
                tenancy.restrict(self._session)
        return self._session

    def keep_on_refusal(self) -> None:
        """Commit even if the request ends in a 4xx: a refused sign-in must still count
        towards the throttle that slows the next guess."""
        self.keep_when_refused = True

    @property
    def touched(self) -> bool:
        """Whether a session was opened (requests that never use one skip the database)."""
        return self._session is not None

    def commit(self) -> None:
        """Commit what the request or command did."""
        if self._session is not None:
            self._session.commit()

    def rollback(self) -> None:
        """Discard what the request or command did."""
        if self._session is not None:
            self._session.rollback()

    def end(self, *, commit: bool) -> None:
        """Commit (or roll back) and release the connection, in one step."""
        try:
            if commit:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()

    def close(self) -> None:
        """Release the connection (an open transaction is rolled back)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> Session:
        return self.session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end(commit=exc_type is None)
