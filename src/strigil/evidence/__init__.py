"""Evidence engine: effect sizes, meta-analysis matched to R's metafor, plots and reliability.

A pure numerical library (stdlib, numpy, scipy, statsmodels, matplotlib only). Bad input raises
:class:`EvidenceInputError`, which is both a ``ValueError`` and a
:class:`strigil.errors.InvalidInput`.
"""

from strigil.evidence.effect_sizes import (
    EffectSizes,
    MeanSD,
    effect_size,
    hedges_correction,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    sd_change,
    sd_from_ci,
    sd_from_se,
)
from strigil.evidence.gosh import GoshResult, gosh
from strigil.evidence.heterogeneity import Control, ConvergenceError
from strigil.evidence.influence import InfluenceResult, influence
from strigil.evidence.inputs import EvidenceInputError
from strigil.evidence.meta import METHODS, TESTS, MetaResult, meta_analyze
from strigil.evidence.permutest import PermutationResult, permutest
from strigil.evidence.sensitivity import (
    EggerResult,
    SequenceRow,
    SubgroupResult,
    cumulative,
    egger_test,
    leave_one_out,
    subgroups,
)
from strigil.evidence.trimfill import TrimFillResult, trimfill

__all__ = [
    "METHODS",
    "TESTS",
    "Control",
    "ConvergenceError",
    "EffectSizes",
    "EggerResult",
    "EvidenceInputError",
    "GoshResult",
    "InfluenceResult",
    "MeanSD",
    "MetaResult",
    "PermutationResult",
    "SequenceRow",
    "SubgroupResult",
    "TrimFillResult",
    "cumulative",
    "effect_size",
    "egger_test",
    "gosh",
    "hedges_correction",
    "influence",
    "leave_one_out",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "meta_analyze",
    "permutest",
    "sd_change",
    "sd_from_ci",
    "sd_from_se",
    "subgroups",
    "trimfill",
]
