"""The network operator's comparison of clinics: one model over every clinic, clinic-level
figures only, and clear messages when there is too little to compare."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session
from tests.factories import make_clinic
from tests.services.test_insight import build

from strigil.errors import InvalidInput
from strigil.services import network
from strigil.store.base import utcnow


def _today() -> date:
    return utcnow().date()


def test_every_clinic_gets_its_adjusted_effect_with_an_interval(session: Session) -> None:
    north, south = make_clinic(session), make_clinic(session)
    build(session, north, 10, seed=3)
    build(session, south, 10, seed=5)
    result = network.compare_clinics(
        session=session, measure="NPRS", today=_today(), min_episodes=20
    )
    assert result.message is None and result.fit is not None and result.fit.n_clinics >= 2
    ours = {c.clinic: c for c in result.clinics if c.clinic in (north.name, south.name)}
    assert set(ours) == {north.name, south.name}
    for effect in ours.values():
        f = effect.figures
        assert f.n == 30 and f.ci_low <= f.effect <= f.ci_high
    assert not hasattr(result.clinics[0], "patients")  # clinic-level figures only


def test_too_little_to_compare_is_said_plainly(session: Session) -> None:
    build(session, make_clinic(session), 3)
    few = network.compare_clinics(session=session, measure="NPRS", today=_today())
    assert few.clinics == () and few.message is not None and "not enough data" in few.message
    with pytest.raises(InvalidInput) as bad:
        network.compare_clinics(session=session, measure="NOPE", today=_today())
    assert bad.value.field == "measure"
    with pytest.raises(InvalidInput) as small:
        network.compare_clinics(session=session, measure="NPRS", today=_today(), min_episodes=2)
    assert small.value.field == "min_episodes"
