"""Force per therapist and body region: a therapist sees their own, an admin the clinic's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_user

from strigil.errors import NotPermitted
from strigil.services import dose_insight
from strigil.store.clinics import User

from .test_attach import _area, _attach, _content


def test_force_per_therapist_and_region(
    session: Session, client: TestClient, tmp_path: Path
) -> None:
    clinic = make_clinic(session)
    first: User = make_user(session, clinic, display_name="Dana Ames")
    second = make_user(session, clinic, display_name="Rui Okafor")
    admin = make_user(session, clinic, role="admin")
    mine = [
        _attach(session, first, _area(session, first), _content(seed, 6.0), tmp_path)
        for seed in (1, 2, 3)
    ]
    _attach(session, second, _area(session, second), _content(9, 3.0), tmp_path)
    light = _attach(session, first, _area(session, first), _content(4, 1.5), tmp_path)
    light.phase = "exploring"  # a light pass to find the restriction: not the working force
    session.flush()

    own = dose_insight.force_by_region(session=session, actor=actor(first))
    assert [t.user_id for t in own] == [first.id]
    [elbow] = own[0].regions
    means = [r.mean_force_n for r in mine]
    assert elbow.recordings == 3 and elbow.region == "elbow_forearm"
    assert elbow.mean_median_n == pytest.approx(float(np.median(means)))
    assert elbow.mean_q1_n <= elbow.mean_median_n <= elbow.mean_q3_n
    assert elbow.peak_max_n == max(r.peak_force_n for r in mine)
    everyone = dose_insight.force_by_region(session=session, actor=actor(admin))
    assert {t.user_id for t in everyone} == {first.id, second.id}

    login(client, first)
    page = client.get("/doses")
    assert page.status_code == 200
    assert page.text.count('data-testid="dose-therapist"') == 1
    assert 'src="data:image/svg+xml;base64,' in page.text
    assert first.display_name in page.text and second.display_name not in page.text
    client.cookies.clear()
    login(client, admin)
    page = client.get("/doses")
    assert page.text.count('data-testid="dose-therapist"') == 2


def test_an_assistant_may_not_see_force_per_therapist(session: Session) -> None:
    assistant = make_user(session, make_clinic(session), role="assistant")
    with pytest.raises(NotPermitted):
        dose_insight.force_by_region(session=session, actor=actor(assistant))
