"""PostgreSQL: a patient's request (no user, no clinic yet) finds its link's clinic through
the directory function, and the link and check-in tables are hidden from other clinics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_user
from tests.flow import iastm_visit

from strigil.services import patient_links
from strigil.store import tenancy

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    assert is_postgres, "the directory function and row-level security need PostgreSQL"


@pytest.fixture
def issued(session: Session) -> tuple[str, int, int]:
    """A check-in link of one clinic, and a second clinic, made before the role switch."""
    token, clinic_id = _issued(session)
    other = make_clinic(session)
    session.flush()
    return token, clinic_id, other.id


@pytest.fixture
def as_app(connection: Connection, issued: tuple[str, int, int]) -> Iterator[Connection]:
    del issued  # the rows exist before the connection turns into the app role
    nested = connection.begin_nested()
    connection.execute(text(f"SET LOCAL ROLE {tenancy.APP_ROLE}"))
    yield connection
    if nested.is_active:
        nested.rollback()


def _issued(session: Session) -> tuple[str, int]:
    therapist = make_user(session, make_clinic(session))
    who = actor(therapist)
    visit = iastm_visit(session, therapist)
    token, _ = patient_links.issue_checkin(session=session, actor=who, visit_id=visit.external_id)
    session.flush()
    return token, therapist.clinic_id


def test_the_directory_names_the_links_clinic_only(
    issued: tuple[str, int, int], as_app: Connection
) -> None:
    token, clinic_id, _ = issued
    found = as_app.scalar(
        text("SELECT strigil_clinic_of_patient_link(:k)"), {"k": patient_links.digest(token)}
    )
    assert found == clinic_id
    missing = as_app.scalar(text("SELECT strigil_clinic_of_patient_link(:k)"), {"k": "0" * 64})
    assert missing is None


def test_links_are_hidden_from_other_clinics(
    issued: tuple[str, int, int], as_app: Connection
) -> None:
    _, clinic_id, other_id = issued
    as_app.execute(
        text("SELECT set_config(:n, :v, true)"), {"n": tenancy.CLINIC_SETTING, "v": str(other_id)}
    )
    assert as_app.scalar(text("SELECT count(*) FROM patient_link")) == 0
    as_app.execute(
        text("SELECT set_config(:n, :v, true)"), {"n": tenancy.CLINIC_SETTING, "v": str(clinic_id)}
    )
    assert as_app.scalar(text("SELECT count(*) FROM patient_link")) == 1
