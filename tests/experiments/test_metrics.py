"""Metrics: which ones the data supports, and which direction counts as better or harmful."""

from __future__ import annotations

import polars as pl
import pytest

from experiments.config import ExperimentsSettings
from experiments.metrics import METRICS, available, chance_to_beat, estimate, harmful, lift


def _arm(latency: float, n: int = 200, profit_known: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "latency_sum": [latency + (i % 7) for i in range(n)],
            "latency_n": [1.0] * n,
            "revenue": [float(i % 5) for i in range(n)],
            "purchases": [float(i % 5 > 0) for i in range(n)],
            "profit_known": [profit_known] * n,
        }
    )


def test_metrics_need_their_events() -> None:
    assert available("latency_ms", _arm(40))
    assert not available("profit_per_unit", _arm(40))
    assert available("profit_per_unit", _arm(40, profit_known=1.0))
    assert not available("conversion", _arm(40).head(0))


def test_ratio_metrics_divide_sums() -> None:
    value, var, n = estimate(METRICS["average_order_value"], _arm(40))
    arm = _arm(40)
    assert value == pytest.approx(arm["revenue"].sum() / arm["purchases"].sum())
    assert var > 0 and n == 200


def test_slower_is_worse_for_latency() -> None:
    spec = METRICS["latency_ms"]
    fast, slow = _arm(40), _arm(45)
    result = lift(spec, fast, slow, 0.05)
    assert result.absolute == pytest.approx(5.0)
    assert harmful(spec, result)
    assert not harmful(spec, lift(spec, slow, fast, 0.05))
    assert chance_to_beat(spec, fast, slow, ExperimentsSettings()) < 0.01


def test_lower_revenue_is_harmful() -> None:
    spec = METRICS["revenue_per_unit"]
    rich = _arm(40).with_columns(pl.col("revenue") * 2)
    assert harmful(spec, lift(spec, rich, _arm(40), 0.05))
    assert not harmful(spec, lift(spec, _arm(40), rich, 0.05))
