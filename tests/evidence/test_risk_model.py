"""The risk-adjustment model recovers planted therapist effects, covers them at about the
nominal rate, keeps dropouts in with their last score, and refuses to fit on too little data."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from strigil.evidence import risk_model
from strigil.evidence.risk_model import EpisodeOutcome, NotEnoughData

INTAKE_SLOPE = 0.4  # patients who start worse improve more (regression to the mean and room)
AGE_SLOPE = -0.05
COMORBIDITY_SLOPE = -0.6
SURGERY_SHIFT = -1.5
THERAPIST_SD = 1.5
CLINIC_SD = 1.0
NOISE_SD = 3.5


def simulate(
    rng: np.random.Generator,
    *,
    therapists: int = 40,
    clinics: int = 1,
    caseload: tuple[int, int] = (20, 40),
    mcid: float = 2.0,
) -> tuple[list[EpisodeOutcome], dict[int, float]]:
    """A network with planted therapist (and clinic) effects on change, at 12-month caseloads
    like those Gozalo et al. report (a few dozen patients per therapist)."""
    planted = {t: float(rng.normal(0, THERAPIST_SD)) for t in range(1, therapists + 1)}
    clinic_of = {t: 1 + (t - 1) % clinics for t in planted}
    clinic_effect = {c: float(rng.normal(0, CLINIC_SD)) for c in range(1, clinics + 1)}
    rows, episode = [], 0
    for t, effect in planted.items():
        for _ in range(int(rng.integers(*caseload))):
            episode += 1
            intake = float(rng.uniform(3, 9))
            age = float(rng.uniform(20, 80))
            comorbid = int(rng.poisson(1 + age / 40))
            surgery = bool(rng.random() < 0.15)
            mean = (
                INTAKE_SLOPE * intake + AGE_SLOPE * age + COMORBIDITY_SLOPE * comorbid
                + SURGERY_SHIFT * surgery + effect
                + (clinic_effect[clinic_of[t]] if clinics > 1 else 0.0)
            )  # fmt: skip
            change = mean + float(rng.normal(0, NOISE_SD))
            rows.append(
                EpisodeOutcome(
                    episode=episode,
                    patient=episode,
                    therapist=t,
                    clinic=clinic_of[t],
                    intake=intake,
                    change=change,
                    reached_mcid=change >= mcid,
                    age=age,
                    sex=str(rng.choice(["female", "male"])),
                    chronicity="chronic",
                    surgery=surgery,
                    comorbidity_count=comorbid,
                    payer=str(rng.choice(["private", "medicare", "medicaid"])),
                )  # fmt: skip
            )
    return rows, planted


def test_ranking_of_therapists_follows_the_planted_effects() -> None:
    rows, planted = simulate(np.random.default_rng(11))
    result = risk_model.fit(rows)
    estimated = {u.unit: u.effect for u in result.therapists}
    units = sorted(planted)
    rho = stats.spearmanr([planted[u] for u in units], [estimated[u] for u in units])[0]
    assert rho >= 0.8
    assert "random intercept for the therapist" in result.method
    slope = next(c for c in result.coefficients if c.term == "intake")
    assert slope.ci_low < INTAKE_SLOPE < slope.ci_high


def test_intervals_cover_planted_effects_at_about_the_nominal_rate() -> None:
    covered = total = 0
    for seed in range(6):
        rows, planted = simulate(np.random.default_rng(100 + seed))
        for unit in risk_model.fit(rows).therapists:
            covered += unit.ci_low <= planted[unit.unit] <= unit.ci_high
            total += 1
    assert total == 240
    assert 0.88 <= covered / total <= 0.99


def test_several_clinics_nest_therapists_within_clinics() -> None:
    rows, planted = simulate(np.random.default_rng(5), therapists=30, clinics=3)
    result = risk_model.fit(rows)
    assert "clinics as groups" in result.method
    assert result.n_clinics == 3 and len(result.clinics) == 3
    assert result.clinic_variance is not None
    estimated = {u.unit: u.effect for u in result.therapists}
    rho = stats.spearmanr([planted[u] for u in planted], [estimated[u] for u in planted])[0]
    assert rho >= 0.8
    covered = sum(u.ci_low <= planted[u.unit] <= u.ci_high for u in result.therapists)
    assert covered / len(result.therapists) >= 0.8


def test_too_few_episodes_is_refused_with_the_count() -> None:
    rows, _ = simulate(np.random.default_rng(1), therapists=2, caseload=(2, 3))
    with pytest.raises(NotEnoughData, match=rf"not enough data: n = {len(rows)}, at least 20"):
        risk_model.fit(rows)
    assert risk_model.fit(rows, min_episodes=len(rows)).n == len(rows)


def test_factors_enter_only_while_data_allow() -> None:
    rows, _ = simulate(np.random.default_rng(2), therapists=3, caseload=(10, 11))
    result = risk_model.fit(rows)
    assert result.n == 30
    assert len(result.coefficients) - 1 <= 30 // risk_model.EPISODES_PER_TERM
    assert "intake" in result.formula
    assert "payer" in result.left_out


def test_one_therapist_falls_back_to_least_squares_and_says_so() -> None:
    rows, _ = simulate(np.random.default_rng(3), therapists=1, caseload=(30, 31))
    result = risk_model.fit(rows)
    assert result.method.startswith("ordinary least squares")
    assert any("one therapist" in note for note in result.notes)
    (only,) = result.therapists
    assert only.ci_low < only.mean_residual < only.ci_high
    assert abs(only.mean_residual) < 1e-9  # OLS residuals have mean zero


def test_missing_optional_factors_keep_the_episode() -> None:
    rows, _ = simulate(np.random.default_rng(4), therapists=10, caseload=(20, 21))
    blank = [
        EpisodeOutcome(
            r.episode,
            r.patient,
            r.therapist,
            r.clinic,
            r.intake,
            r.change,
            age=None if i % 3 == 0 else r.age,
            payer=None,
        )  # fmt: skip
        for i, r in enumerate(rows)
    ]
    result = risk_model.fit(blank)
    assert result.n == len(rows)
    assert "age_missing" in result.formula


def test_dropouts_stay_in_with_their_last_score_and_count_against_the_therapist() -> None:
    """A therapist whose non-improving patients stop coming is not rated better for it."""
    rng = np.random.default_rng(8)
    rows, planted = simulate(rng, therapists=20, caseload=(25, 30))
    losing = max(planted, key=lambda t: planted[t])  # the best therapist loses patients
    kept = []
    for r in rows:
        if r.therapist == losing and r.change < 2:  # they stopped coming: no change carried
            kept.append(dataclasses.replace(r, change=0.0, dropout=True, reached_mcid=False))
        else:
            kept.append(r)
    with_dropouts = risk_model.fit(kept)
    completers = risk_model.fit([r for r in kept if not r.dropout])
    mine = next(u for u in with_dropouts.therapists if u.unit == losing)
    theirs = next(u for u in completers.therapists if u.unit == losing)
    assert mine.n_dropouts == sum(r.dropout for r in kept) > 0
    assert with_dropouts.n_dropouts == mine.n_dropouts
    assert mine.n > theirs.n
    assert mine.effect < theirs.effect  # leaving them out would flatter the therapist
    flagged = [e for e in with_dropouts.residuals if e.dropout]
    assert all(e.actual == 0.0 for e in flagged)


def test_mcid_share_is_adjusted_for_case_mix() -> None:
    rows, planted = simulate(np.random.default_rng(9), therapists=20, caseload=(30, 40))
    mcid = risk_model.fit(rows).mcid
    assert mcid is not None and mcid.message is None
    shares = {s.unit: s for s in mcid.therapists}
    assert all(s.ci_low <= s.adjusted <= s.ci_high for s in shares.values())
    assert abs(sum(s.observed * s.n for s in shares.values()) / mcid.n - mcid.overall) < 1e-9
    rho = stats.spearmanr([planted[u] for u in planted], [shares[u].adjusted for u in planted])[0]
    assert rho > 0.5


def test_mcid_share_without_variation_gives_a_message() -> None:
    rows, _ = simulate(np.random.default_rng(10), therapists=4, caseload=(10, 11))
    everyone = [
        EpisodeOutcome(
            r.episode, r.patient, r.therapist, r.clinic, r.intake, r.change, reached_mcid=True
        )  # fmt: skip
        for r in rows
    ]
    mcid = risk_model.fit(everyone).mcid
    assert (
        mcid is not None and mcid.message == "everybody reached the MCID: no adjustment is possible"
    )
    assert mcid.therapists == ()


def test_wilson_and_poisson_intervals_match_published_values() -> None:
    # Brown, Cai & DasGupta (2001) / Newcombe (1998) example: 81 of 263 -> 0.2553 to 0.3662
    lo, hi = risk_model.wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    rate, lo, hi = risk_model.poisson_rate(0, 50)
    assert rate == 0 and lo == 0 and math.isclose(hi, 3.689 / 50 * 100, rel_tol=1e-3)
    rate, lo, hi = risk_model.poisson_rate(10, 1000)
    assert rate == 1.0 and math.isclose(lo, 0.4795, rel_tol=1e-3)
    assert math.isclose(hi, 1.839, rel_tol=1e-3)
    with pytest.raises(NotEnoughData, match="n = 0"):
        risk_model.wilson(0, 0)


def test_a_variance_at_zero_gives_mean_residual_intervals_not_certainty() -> None:
    """With no therapist effect and few patients REML puts the variance at zero; the shrunk
    estimates would then claim an exact zero. Mean residuals ± t·SE are shown instead."""
    rng = np.random.default_rng(22)
    rows = [
        EpisodeOutcome(i, i, 1 + i % 3, 1, float(rng.uniform(3, 9)), float(rng.normal(2, 3)))
        for i in range(21)
    ]
    result = risk_model.fit(rows)
    if result.therapist_variance > risk_model.BOUNDARY * result.residual_variance:
        pytest.fail("this seed should put the therapist variance at zero")
    assert any("estimated at zero" in note for note in result.notes)
    for unit in result.therapists:
        assert unit.effect == unit.mean_residual
        assert unit.ci_high - unit.ci_low > 1.0
