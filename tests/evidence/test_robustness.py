"""The combined sensitivity report: which part runs for which k, and bad options refused."""

from __future__ import annotations

import numpy as np
import pytest

from strigil.evidence import EvidenceInputError, permutest
from strigil.evidence.robustness import sensitivity_report

Y = [0.1, 0.5, 0.3, 0.2, 0.4]
V = [0.1, 0.2, 0.1, 0.3, 0.2]
LABELS = ["a", "b", "c", "d", "e"]


def test_labels_must_match_the_studies() -> None:
    with pytest.raises(EvidenceInputError, match="labels=4, yi=5") as err:
        sensitivity_report(Y, V, LABELS[:4])
    assert err.value.field == "labels"


def test_unknown_estimator_is_refused_before_any_fit() -> None:
    with pytest.raises(EvidenceInputError, match="'X0': expected one of L0, R0, Q0") as err:
        sensitivity_report(Y, V, LABELS, estimator="X0")
    assert err.value.field == "estimator"


def test_single_study_gets_only_the_reason() -> None:
    report = sensitivity_report([0.4], [0.1], ["only"], method="EE")
    assert (report.influence, report.trimfill, report.permutation, report.gosh) == (None,) * 4
    assert report.notes == ("k = 1: a single study, nothing pooled, so nothing to test for "
                            "sensitivity",)  # fmt: skip


def test_every_part_runs_for_five_studies_and_the_report_is_plain_numbers() -> None:
    report = sensitivity_report(Y, V, LABELS, method="EE")
    assert report.influence is not None and [r.label for r in report.influence] == LABELS
    assert report.trimfill is not None and report.trimfill.estimator == "L0"
    assert report.permutation is not None and report.permutation.exact
    assert report.permutation.iterations == 32
    assert report.permutation.pvalue == permutest(Y, V, method="EE", exact=True).pvalue
    assert report.gosh is not None and report.gosh.subsets == 31 and report.gosh.method == "EE"
    assert report.notes == ()
    assert all(isinstance(x, float) for x in report.gosh.estimate + report.gosh.i2)
    assert report.gosh.estimate[0] <= report.gosh.estimate[2] <= report.gosh.estimate[4]
    assert report.gosh.estimate[0] == pytest.approx(min(Y))  # a one-study subset at each end
    assert report.gosh.estimate[4] == pytest.approx(max(Y))
    assert isinstance(report.influence[0].influential, bool)
    assert not isinstance(report.influence[0].rstudent, np.ndarray)


def test_permutations_are_exact_while_affordable() -> None:
    """Batched estimators go exact up to k = 20; one-at-a-time ones while 2^k ≤ 10,000."""
    rng = np.random.default_rng(2)
    y, v = rng.normal(0.3, 0.2, 14), rng.uniform(0.02, 0.2, 14)
    labels = [str(i) for i in range(14)]
    batched = sensitivity_report(y, v, labels, method="DL").permutation
    assert batched is not None and batched.exact and batched.iterations == 1 << 14
    looped = sensitivity_report(y, v, labels, method="PM").permutation
    assert looped is not None and not looped.exact and looped.iterations == 10_000
    small = sensitivity_report(y[:13], v[:13], labels[:13], method="PM").permutation
    assert small is not None and small.exact and small.iterations == 1 << 13
