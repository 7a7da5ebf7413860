"""Effect-size conversions and reliability statistics against hand-computed worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strigil.evidence import (
    effect_size,
    hedges_correction,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    sd_change,
    sd_from_ci,
    sd_from_se,
)
from strigil.evidence.reliability import (
    agreement_label,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    icc,
)


def test_hedges_correction_is_close_to_its_approximation() -> None:
    m = np.array([10.0, 38.0, 200.0])
    approx = 1 - 3 / (4 * m - 1)
    np.testing.assert_allclose(hedges_correction(m), approx, rtol=2e-3)
    assert hedges_correction([38.0])[0] < 1


def test_smd_by_hand() -> None:
    es = effect_size("SMD", m1i=[5.0], sd1i=[2.0], n1i=[20], m2i=[4.0], sd2i=[2.0], n2i=[20])
    j = math.exp(math.lgamma(19) - 0.5 * math.log(19) - math.lgamma(18.5))
    g = j * 0.5
    assert es.yi[0] == pytest.approx(g, rel=1e-12)
    assert es.vi[0] == pytest.approx(0.1 + g**2 / 80, rel=1e-12)


def test_zero_cell_gets_continuity_correction_only_there() -> None:
    es = effect_size("OR", ai=[0, 5], bi=[10, 5], ci=[5, 5], di=[5, 5])
    assert es.yi[0] == pytest.approx(math.log(0.5 * 5.5 / (10.5 * 5.5)))
    assert es.yi[1] == pytest.approx(0.0)
    assert es.vi[1] == pytest.approx(4 / 5)


@pytest.mark.parametrize(
    ("measure", "data", "message"),
    [
        ("XYZ", {}, "unknown measure"),
        ("MD", {"m1i": [1], "sd1i": [1], "n1i": [1]}, "missing"),
        (
            "MD",
            {"m1i": [1, 2], "sd1i": [1], "n1i": [1], "m2i": [1], "sd2i": [1], "n2i": [1]},
            "lengths differ",
        ),
        ("RR", {"ai": [-1], "bi": [1], "ci": [1], "di": [1]}, "negative"),
        (
            "SMD",
            {"m1i": [np.nan], "sd1i": [1], "n1i": [5], "m2i": [1], "sd2i": [1], "n2i": [5]},
            "NaN",
        ),
    ],
)
def test_effect_size_rejects_bad_input(measure: str, data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        effect_size(measure, **data)


def test_wan_2014_median_iqr_and_range() -> None:
    # n = 50: Phi^-1((0.75*50-0.125)/50.25) and Phi^-1((50-0.375)/50.25), from scipy by hand
    from scipy.stats import norm

    iqr = mean_sd_from_median_iqr(10.0, 8.0, 13.0, 50)
    assert iqr.mean == pytest.approx(31 / 3)
    assert iqr.sd == pytest.approx(5 / (2 * norm.ppf(37.375 / 50.25)))
    rng = mean_sd_from_median_range(10.0, 2.0, 20.0, 50)
    assert rng.mean == pytest.approx(10.5)
    assert rng.sd == pytest.approx(18 / (2 * norm.ppf(49.625 / 50.25)))
    with pytest.raises(ValueError):
        mean_sd_from_median_iqr(10.0, 12.0, 13.0, 50)


def test_cochrane_sd_conversions() -> None:
    assert sd_from_se(0.5, 100) == pytest.approx(5.0)
    # Handbook 6.5.2.2 example: n = 25, 95% CI 3.12 to 7.88 -> t(24) = 2.0639, SD = 5.77
    assert sd_from_ci(3.12, 7.88, 25) == pytest.approx(5 * 4.76 / (2 * 2.0639), rel=1e-4)
    assert sd_change(4.0, 3.0, 0.5) == pytest.approx(math.sqrt(16 + 9 - 12))
    with pytest.raises(ValueError):
        sd_change(4.0, 3.0, 1.5)


def test_cohen_kappa_worked_example() -> None:
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5, kappa = 0.4
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="lengths differ"):
        cohen_kappa([1, 0], [1])


def test_fleiss_kappa_worked_example() -> None:
    # Fleiss (1971) style worked example: 10 subjects, 14 raters, 5 categories -> 0.210
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa_from_counts(counts) == pytest.approx(0.20993, abs=1e-5)


def test_fleiss_kappa_from_raw_ratings_matches_two_rater_agreement() -> None:
    ratings = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]])
    # hand: P_i = 1,1,1/3,1/3,1,1 -> mean 7/9; p = (1/2, 1/2) -> Pe = 1/2; kappa = 5/9
    assert fleiss_kappa(ratings) == pytest.approx(5 / 9)


def test_icc_shrout_fleiss_1979_table() -> None:
    data = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    res = icc(data)
    assert res.icc_single == pytest.approx(0.29, abs=0.005)
    assert res.icc_average == pytest.approx(0.62, abs=0.005)


def test_agreement_bands() -> None:
    assert [agreement_label(k) for k in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "poor",
        "slight",
        "fair",
        "moderate",
        "substantial",
        "almost perfect",
    ]


def test_icc_of_identical_ratings_is_undefined_not_a_crash() -> None:
    """Two therapists who grade every site the same leave no variance: 0/0, said plainly."""
    with pytest.raises(ValueError, match="ICC is undefined"):
        icc(np.array([[2, 2], [2, 2], [2, 2]]))
