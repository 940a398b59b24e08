"""Sample-ratio mismatch: do the units per variant match the configured weights?

A mismatch (χ² goodness of fit, ``scipy.stats.chisquare``) means assignment or logging
is broken — bots, redirects, a variant that crashes before logging — and every other
figure of the experiment is suspect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


@dataclass(frozen=True)
class Srm:
    """The χ² statistic, its p-value and whether it is flagged (p below the threshold)."""

    statistic: Any
    p_value: Any
    flagged: Any


def srm_test(counts: ArrayLike, weights: ArrayLike, threshold: float = 0.001) -> Srm:
    """Test observed units per variant against the configured weights (last axis).

    Args:
        counts: Units per variant.
        weights: Configured weights (summing to 1), same order.
        threshold: Flag when the p-value is below it (0.001 by convention).

    Raises:
        ValueError: counts and weights differ in length.
    """
    observed = np.asarray(counts, float)
    w = np.asarray(weights, float)
    if observed.shape[-1] != w.shape[-1]:
        raise ValueError(f"weights: {w.shape[-1]} weights for {observed.shape[-1]} variants")
    expected = observed.sum(axis=-1, keepdims=True) * w / w.sum()
    result = stats.chisquare(observed, expected, axis=-1)
    return Srm(result.statistic, result.pvalue, result.pvalue < threshold)
