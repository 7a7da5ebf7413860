"""Shared by the live-stream test and benchmark: areas to stream to, and a simulated tool that
posts 1 kHz samples in real time to a running server."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import httpx
from tests.factories import make_episode, make_patient
from tests.flow import ready_for_iastm, recheck_in_force

from strigil.sensors.simulate import simulate
from strigil.services import treatment, visits
from strigil.services.auth import actor_for
from strigil.store import clinics as clinic_store
from strigil.store.engine import make_engine, make_sessionmaker


def active_areas(url: str, email: str, count: int) -> list[tuple[str, str]]:
    """``count`` patients each with a visit and one area being treated: (visit id, area id)."""
    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    try:
        user = clinic_store.find_user_by_email(session, email)
        assert user is not None
        who = actor_for(user)
        out = []
        for _ in range(count):
            patient = make_patient(session, user)
            episode = make_episode(session, user, patient, condition_code="M77.11", side="right")
            ready_for_iastm(session, user, episode)
            start = visits.VisitStart(tolerance_limit=6, recheck=recheck_in_force(session, episode))
            visit = visits.start(
                session=session, actor=who, episode_id=episode.external_id, data=start
            )
            data = treatment.AreaInput(
                body_site="lateral_elbow",
                side="right",
                instrument_type="stainless_steel",
                intensity="gentle",
            )
            area = treatment.add_area(
                session=session, actor=who, visit_id=visit.external_id, data=data
            )
            out.append((str(visit.external_id), str(area.external_id)))
        session.commit()
        return out
    finally:
        session.close()
        engine.dispose()


@dataclass
class Tool:
    """One simulated tool streaming to one area in batches, paced in real time."""

    base_url: str
    token: str
    area: str
    seconds: float
    seed: int
    batch: int = 250
    sample_hz: float = 1000.0
    sent: int = 0
    refused: list[str] = field(default_factory=list)

    def run(self) -> None:
        strokes = max(1, int(self.seconds * 0.5))
        sim = simulate(self.seed, strokes=strokes, rate_hz=0.5, sample_hz=self.sample_hz)
        t = sim.t_s[sim.t_s < self.seconds]
        headers = {"Authorization": f"Bearer {self.token}"}
        started = time.perf_counter()
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            for i in range(0, t.shape[0], self.batch):
                due = started + float(t[min(i + self.batch, t.shape[0]) - 1])
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)  # a real tool cannot send samples before it takes them
                chunk = slice(i, min(i + self.batch, t.shape[0]))
                body = {
                    "t_s": t[chunk].tolist(),
                    "fz_n": [None if math.isnan(v) else v for v in sim.fz_n[chunk].tolist()],
                    "angle_deg": sim.angle_deg[chunk].tolist(),
                }
                answer = self._post(client, body)
                if answer.status_code == 202:
                    self.sent += chunk.stop - chunk.start
                else:
                    self.refused.append(f"{answer.status_code} {answer.text[:200]}")

    def _post(self, client: httpx.Client, body: dict[str, object]) -> httpx.Response:
        """Post a batch; a 503 (server over capacity) is retried after its Retry-After."""
        for _ in range(20):
            answer = client.post(f"/api/v1/areas/{self.area}/sensor-stream", json=body)
            if answer.status_code != 503:
                return answer
            time.sleep(float(answer.headers.get("Retry-After", "1")))
        return answer
