"""Thompson sampling over the elasticity posterior: uncertain items try the price that
is best under a plausible draw of their elasticity, inside the same guardrails.

Each exploring item gets one draw from ``Normal(estimate, se)`` (``se`` from its
interval); the optimiser then prices it as if the draw were true. Prices that look good
under some plausible elasticity get tried, in proportion to how plausible that is, and
the price tests they create shrink the interval at the next estimation.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from training.pricing.config import ExplorationConfig


def explorers(inputs: pl.DataFrame, cfg: ExplorationConfig) -> pl.Series:
    """Which rows of ``inputs`` (elasticity, ci_low, ci_high) explore today: the widest
    intervals at or over the threshold, at most ``max_share`` of the items."""
    width = (inputs["ci_high"] - inputs["ci_low"]).to_numpy()
    chosen = np.zeros(inputs.height, dtype=bool)
    if not cfg.enabled:
        return pl.Series("exploration", chosen)
    budget = int(np.floor(cfg.max_share * inputs.height))
    wide = np.flatnonzero(width >= cfg.min_interval_width)
    chosen[wide[np.argsort(-width[wide], kind="stable")][:budget]] = True
    return pl.Series("exploration", chosen)


def sampled_elasticity(
    inputs: pl.DataFrame, exploring: pl.Series, confidence: float, rng: np.random.Generator
) -> pl.Series:
    """The elasticity each item is priced with: a posterior draw for explorers (kept
    negative), the point estimate for the rest."""
    estimate = inputs["elasticity"].to_numpy()
    z = stats.norm.ppf(0.5 + confidence / 2)
    se = (inputs["ci_high"] - inputs["ci_low"]).to_numpy() / (2 * z)
    draws = np.minimum(rng.normal(estimate, se), -0.05)
    return pl.Series("priced_elasticity", np.where(exploring.to_numpy(), draws, estimate))
