"""Optimiser inputs for unit tests: random but plausible items."""

from __future__ import annotations

import numpy as np
import polars as pl


def random_inputs(n: int = 200, seed: int = 0) -> pl.DataFrame:
    """``proposal_inputs``-shaped rows: item state, forecast and elasticity."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(2, 80, n).round(2)
    elasticity = rng.uniform(-4, -0.3, n)
    width = rng.uniform(0.2, 4.0, n)
    return pl.DataFrame(
        {
            "item_id": [f"i{k:03d}" for k in range(n)],
            "category": rng.choice(["a", "b", "c"], n),
            "base_price": base,
            "unit_cost": (base * rng.uniform(0.3, 0.8, n)).round(2),
            "current_price": (base * rng.uniform(0.7, 1.3, n)).round(2),
            "days_of_cover": rng.uniform(0, 120, n),
            "on_order": rng.integers(0, 2, n) * 10,
            "on_hand": rng.integers(0, 50, n),
            "lowest_price_30d": (base * 0.7).round(2),
            "forecast": rng.gamma(2.0, 2.0, n),
            "p10": np.zeros(n),
            "p90": rng.gamma(4.0, 2.0, n),
            "elasticity": elasticity,
            "ci_low": elasticity - width / 2,
            "ci_high": elasticity + width / 2,
        }
    )
