"""Always-valid p-values for peeking: the mixture sequential probability ratio test.

mSPRT (Johari et al. 2017) with a normal mixture N(0, τ²) over the true difference θ:
with the estimated difference d ~ N(θ, v) at a look, the likelihood ratio of the mixture
against θ = 0 is Λ = φ(d; 0, v + τ²) / φ(d; 0, v). The always-valid p-value is the
running minimum of min(1, 1/Λ) over looks; stopping the first time it drops below α
keeps the false-positive rate at most α however often one looks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


def msprt_p_values(difference: ArrayLike, variance: ArrayLike, tau: ArrayLike) -> Any:
    """Always-valid p-values at successive looks (last axis = looks, in time order).

    Args:
        difference: Estimated treatment - control at each look.
        variance: Variance of that estimate at each look.
        tau: Standard deviation of the normal mixture over the effect (same units as the
            difference; scalar or per look).

    Returns:
        Non-increasing p-values, one per look.
    """
    d = np.asarray(difference, float)
    v = np.asarray(variance, float)
    tau2 = np.asarray(tau, float) ** 2
    log_lr = stats.norm.logpdf(d, scale=np.sqrt(v + tau2)) - stats.norm.logpdf(d, scale=np.sqrt(v))
    p = np.minimum(1.0, np.exp(-np.nan_to_num(log_lr, nan=0.0)))
    return np.minimum.accumulate(p, axis=-1)


def msprt_interval(
    difference: ArrayLike,
    variance: ArrayLike,
    tau: ArrayLike,
    alpha: float = 0.05,
    *,
    intersect: bool = True,
) -> tuple[Any, Any]:
    """Always-valid interval (confidence sequence) for the difference at each look.

    The values θ the mSPRT would not reject: |d - θ| ≤ √(v (v + τ²) / τ² ·
    (2 log(1/α) + log((v + τ²) / v))) (Johari et al. 2017; Howard et al. 2021, normal
    mixture). Each look's set already holds the truth at every look at once with
    probability 1 - α (Ville's inequality on the mixture martingale); intersecting them
    over the looks so far narrows it further, but only when the difference estimated is
    the same at every look.

    Args:
        difference: Estimated treatment - control at each look (last axis = looks).
        variance: Variance of that estimate at each look.
        tau: Mixture standard deviation (same units as the difference).
        alpha: Level.
        intersect: Intersect over the looks (the interval only narrows). ``False`` where
            the estimand drifts between looks, as cumulative per-unit totals do while
            attribution windows fill.

    Returns:
        (low, high) per look.
    """
    d = np.asarray(difference, float)
    v = np.asarray(variance, float)
    tau2 = np.asarray(tau, float) ** 2
    half = np.sqrt(v * (v + tau2) / tau2 * (2 * np.log(1 / alpha) + np.log((v + tau2) / v)))
    low, high = np.nan_to_num(d - half, nan=-np.inf), np.nan_to_num(d + half, nan=np.inf)
    if intersect:
        low, high = np.maximum.accumulate(low, axis=-1), np.minimum.accumulate(high, axis=-1)
    return low, high
