"""Bayesian chance to beat control.

Conversion-type metrics: Beta(1 + successes, 1 + failures) posteriors, sampled
(``scipy.stats.beta`` with a seeded NumPy Generator). Continuous metrics (revenue per
unit, ratios, CUPED): a normal approximation of each arm's posterior around its
estimate, so P(treatment > control) = Φ((t - c) / √(v_t + v_c)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


def beta_chance_to_beat(
    control: tuple[int, int], treatment: tuple[int, int], draws: int = 20_000, seed: int = 0
) -> float:
    """P(treatment rate > control rate); each arm is (successes, trials).

    Raises:
        ValueError: successes outside [0, trials].
    """
    rng = np.random.default_rng(seed)
    samples = []
    for name, (successes, trials) in (("control", control), ("treatment", treatment)):
        if not 0 <= successes <= trials:
            raise ValueError(f"{name}: successes {successes} not within 0..{trials} trials")
        posterior = stats.beta(1 + successes, 1 + trials - successes)
        samples.append(posterior.rvs(size=draws, random_state=rng))
    return float(np.mean(samples[1] > samples[0]))


def normal_chance_to_beat(
    control: ArrayLike, var_control: ArrayLike, treatment: ArrayLike, var_treatment: ArrayLike
) -> Any:
    """P(treatment > control) under normal posteriors centred on the estimates; with no
    uncertainty at all (both variances 0) it is 1, 0 or ½ as the estimates compare."""
    diff = np.asarray(treatment, float) - np.asarray(control, float)
    se = np.sqrt(np.asarray(var_control, float) + np.asarray(var_treatment, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        certain = np.where(diff == 0, 0.0, np.sign(diff) * np.inf)
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), certain)
    return stats.norm.cdf(z)
