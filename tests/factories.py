"""Plain builders with deterministic, synthetic defaults. No real person appears here."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from strigil.services import auth, clinics, episodes, patients
from strigil.services.actors import Actor
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.patients import Patient

PASSWORD = "synthetic-pass-123"
_FAST_HASH = auth.hash_password(PASSWORD)
_seq = itertools.count(1)


def make_clinic(session: Session, name: str | None = None) -> Clinic:
    return clinics.create_clinic(session=session, name=name or f"Test Clinic {next(_seq)}")


def make_user(session: Session, clinic: Clinic, role: str = "therapist", **kw: Any) -> User:
    n = next(_seq)
    return clinics.add_user(
        session=session,
        clinic=clinic,
        email=kw.get("email", f"user{n}@clinic.test"),
        display_name=kw.get("display_name", f"Test {role.title()} {n}"),
        role=role,
        password=PASSWORD,
        password_hash=_FAST_HASH,
    )


def actor(user: User) -> Actor:
    return auth.actor_for(user)


def make_patient(session: Session, user: User, **kw: Any) -> Patient:
    data = patients.PatientInput(
        given_name=kw.get("given_name", "Ada"),
        family_name=kw.get("family_name", f"Testperson{next(_seq)}"),
        birth_date=kw.get("birth_date", date(1980, 5, 17)),
        sex=kw.get("sex", "female"),
    )
    return patients.register(session=session, actor=actor(user), data=data)


def make_episode(session: Session, user: User, patient: Patient, **kw: Any) -> Episode:
    data = episodes.EpisodeInput(
        condition_code=kw.get("condition_code", "M77.11"),
        body_region=kw.get("body_region", "elbow_forearm"),
        side=kw.get("side", "right"),
        chronicity=kw.get("chronicity", "chronic"),
        primary_measure=kw.get("primary_measure", "PRTEE"),
        goals=kw.get("goals", "Lift a kettle"),
    )
    return episodes.open_episode(
        session=session, actor=actor(user), patient_id=patient.external_id, data=data
    )


def login(client: TestClient, user: User) -> str:
    """Sign the client in; returns the CSRF token to send in X-CSRF-Token."""
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


def seed_clinic_with_therapist(url: str, *, clinic: str, email: str, password: str) -> None:
    """A clinic and one therapist written straight to a database (for tests that run a server)."""
    from strigil.store.engine import make_engine, make_sessionmaker

    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    try:
        created = clinics.create_clinic(session=session, name=clinic)
        clinics.add_user(
            session=session,
            clinic=created,
            email=email,
            display_name=f"{clinic} Therapist",
            role="therapist",
            password=password,
        )
        session.commit()
    finally:
        session.close()
        engine.dispose()


def synthetic_pack(
    measure: str = "QUICKDASH", item_count: int = 11, **changes: Any
) -> dict[str, Any]:
    """A translation pack of placeholder text (never a real instrument's wording); a change
    set to ``...`` leaves that field out."""
    data: dict[str, Any] = {
        "format": 1,
        "measure": measure,
        "language": "es",
        "title": "Cuestionario de prueba",
        "source": "Titular sintético de prueba",
        "version": "0.1-test",
        "items": [f"Elemento de prueba {n}" for n in range(1, item_count + 1)],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}
