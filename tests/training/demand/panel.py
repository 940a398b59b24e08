"""A small synthetic demand panel with weekly seasonality and a price effect."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from features.config import DemandFeatureConfig
from features.pipelines.demand import demand_rows

D0 = dt.date(2025, 1, 1)


def synthetic_panel(series: int = 12, days: int = 180, seed: int = 0) -> pl.DataFrame:
    """The feature store's demand table for ``series`` items over ``days`` days."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(series):
        level = rng.uniform(2, 8)
        for d in range(days):
            day = D0 + dt.timedelta(days=d)
            price = 10.0 * (0.8 if rng.random() < 0.1 else 1.0)
            mean = level * (1.5 if day.weekday() >= 5 else 1.0) * (price / 10.0) ** -2
            rows.append(
                {
                    "item_id": f"i{s:02d}",
                    "location_id": "online",
                    "period_start": day,
                    "units": float(rng.poisson(mean)),
                    "price": price,
                    "base_price": 10.0,
                    "promo": price < 10.0,
                }
            )
    return demand_rows(pl.DataFrame(rows), DemandFeatureConfig())
