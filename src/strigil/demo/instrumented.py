"""Instrumented areas for one demo therapist: today's open visits, treated with a force-sensing
tool whose recordings come from the simulator (``strigil.sensors.simulate``).

Everything goes through the services a real visit uses: ``treatment.add_area`` admits an area
(screening, closed sites, dose caps, a gentle start) or refuses it, ``sensors.set_intended``
records the dose the therapist means to give (about every other area), ``sensors.record_file`` —
what ``strigil sensors attach`` calls — analyses, keeps and stores each recording with its
force cap, and ``treatment.stop_area`` ends the area. So the demo's measured doses are exactly
what re-analysing the kept files gives. Recordings are short and sampled at 100 Hz to keep the
demo load quick.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from strigil.core import catalog
from strigil.demo import visits
from strigil.errors import InvalidInput
from strigil.sensors import simulate
from strigil.services import auth, sensors, treatment
from strigil.services.actors import Actor
from strigil.store.clinics import User
from strigil.store.visits import Visit

MAX_RECORDINGS = 36
AREAS_PER_VISIT = 3
SAMPLE_HZ = 100.0
# Mean peaks a therapist aims for: under the gentle cap (4 N) when gentle, near the trained
# clinicians' mean force (6 N, J Athl Train 2023) when moderate; the 20 % spread of the
# simulator lets an occasional gentle peak cross the cap, which the record then flags.
AIMED_PEAK_N = {"explore": 2.2, "gentle": 3.2, "moderate": 6.5}
# What the therapist sets out to give (mean force range, strokes): about every other area has
# an intended dose, so the demo shows both the comparison and areas without one.
INTENDED = {"gentle": (1.5, 3.5, 30), "moderate": (3.5, 7.0, 30)}


def instrument(*, session: Session, clinic_id: int, data_dir: Path, seed: int) -> int:
    """Treat today's open IASTM visits of one therapist of the clinic (the one with the most)
    with an instrumented tool; returns how many recordings were stored."""
    therapists = session.scalars(
        select(User).where(User.clinic_id == clinic_id, User.role == "therapist").order_by(User.id)
    ).all()
    if not therapists:
        return 0
    visits_of = {t.id: _open_visits(session, t.id) for t in therapists}
    therapist = max(therapists, key=lambda t: len(visits_of[t.id]))  # first among equals
    actor = auth.actor_for(therapist)
    rng = random.Random(seed)
    stored = 0
    for visit in visits_of[therapist.id]:
        stored += _treat(session, actor, visit, rng, data_dir, MAX_RECORDINGS - stored)
        if stored >= MAX_RECORDINGS:
            break
    return stored


def _open_visits(session: Session, therapist_id: int) -> list[Visit]:
    rows = session.scalars(
        select(Visit)
        .where(Visit.therapist_id == therapist_id, Visit.status == "in_progress")
        .order_by(Visit.id)
    ).all()
    return [v for v in rows if "iastm" in (v.techniques or [])]


def _treat(
    session: Session, actor: Actor, visit: Visit, rng: random.Random, data_dir: Path, room: int
) -> int:
    """Up to ``AREAS_PER_VISIT`` areas of the episode's region, each recorded and completed."""
    sites = [s for s in catalog.body_sites() if s.region == visit.episode.body_region]
    stored = 0
    for site in rng.sample(sites, min(len(sites), AREAS_PER_VISIT, room // 2)):
        intensity = "gentle" if stored == 0 else rng.choice(("gentle", "moderate"))
        data = treatment.AreaInput(
            body_site=site.code,
            side=visits.side_for(site, visit.episode.side, rng),
            instrument_type=rng.choice([t.code for t in catalog.instrument_types()]),
            intensity=intensity,
            angle_deg=45,
            seconds=rng.randint(60, 90),
            confirm_other_side=True,
        )
        try:
            area = treatment.add_area(
                session=session, actor=actor, visit_id=visit.external_id, data=data
            )
        except InvalidInput:  # the rules refuse this site today (blocked, capped, closed)
            continue
        if rng.random() < 0.5:
            low, high, strokes = INTENDED[intensity]
            sensors.set_intended(
                session=session,
                actor=actor,
                treated_area_id=area.external_id,
                data=sensors.IntendedInput(force_min_n=low, force_max_n=high, strokes=strokes),
            )
        # A light exploring pass to find the restriction, then the treating pass: two
        # recordings of the area, both shown on its card; only the treating one is held
        # against the intended dose.
        _record(session, actor, area.external_id, "explore", rng, data_dir)
        _record(session, actor, area.external_id, intensity, rng, data_dir)
        treatment.stop_area(
            session=session, actor=actor, treated_area_id=area.external_id, reason="completed"
        )
        stored += 2
    return stored


def _record(
    session: Session,
    actor: Actor,
    area_id: object,
    intensity: str,
    rng: random.Random,
    data_dir: Path,
) -> None:
    sim = simulate.simulate(
        seed=rng.getrandbits(32),
        strokes=rng.randint(8, 15) if intensity == "explore" else rng.randint(20, 40),
        rate_hz=rng.choice((0.5, 0.75, 1.0)),
        peak_n=AIMED_PEAK_N[intensity],
        sample_hz=SAMPLE_HZ,
        dropouts=3,
    )
    sensors.record_file(
        session=session,
        actor=actor,
        treated_area_id=area_id,
        content=simulate.to_csv(sim).encode("utf-8"),
        file_name=f"demo-{area_id}.csv",
        sidecar_text=json.dumps(simulate.sidecar(sim)),
        data_dir=data_dir,
        phase="exploring" if intensity == "explore" else "treating",
    )
