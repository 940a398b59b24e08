"""Ratio metrics by the delta method: sum(numerator) / sum(denominator) over units.

Click-through (clicks per impression) and average order value (revenue per order) are
ratios of per-unit sums; the units, not the impressions or orders, are independent, so
the variance comes from the per-unit numerators and denominators:
Var(R) ≈ (Var(x) - 2R Cov(x, y) + R² Var(y)) / (n ȳ²).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from experiments.stats.lift import Lift, from_estimates


def ratio_estimate(numerator: ArrayLike, denominator: ArrayLike) -> tuple[Any, Any]:
    """Ratio of sums and its delta-method variance (last axis = units).

    Returns:
        (ratio, variance of the ratio); NaN when every denominator is 0.
    """
    x, y = np.asarray(numerator, float), np.asarray(denominator, float)
    n = x.shape[-1]
    mean_x, mean_y = x.mean(axis=-1), y.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean_x / mean_y
        cov = ((x - mean_x[..., None]) * (y - mean_y[..., None])).sum(axis=-1) / (n - 1)
        var = (x.var(axis=-1, ddof=1) - 2 * ratio * cov + ratio**2 * y.var(axis=-1, ddof=1)) / (
            n * mean_y**2
        )
    return ratio, var


def ratio_lift(
    control: tuple[ArrayLike, ArrayLike],
    treatment: tuple[ArrayLike, ArrayLike],
    alpha: float = 0.05,
) -> Lift:
    """Lift of a ratio metric; each arm is (per-unit numerators, per-unit denominators)."""
    r_c, v_c = ratio_estimate(*control)
    r_t, v_t = ratio_estimate(*treatment)
    return from_estimates(r_c, v_c, r_t, v_t, alpha)
