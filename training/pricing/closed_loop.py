"""Closed-loop replay of pricing policies against a known demand function.

Each day every policy sets a price per item (starting from today's), the day's true
expected units at that price are booked, and the next day starts from the price just
set — so the guardrails (daily change, markdown-only, ...) bind along the way exactly as
in production. Policies:

- ``current``: keep today's price.
- the optimiser, once per elasticity estimate given (e.g. ``dml``, ``naive``): the
  day's forecast at today's price moved by the estimate, through :func:`propose`.
- ``oracle``: the allowed candidate price with the highest *true* expected profit that
  day, under the same guardrails — the most a daily, guarded policy could earn.

Stock is left out (the demand function is unlimited-stock demand); each item's stock
state from day 0 holds for the whole replay, for every policy alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from training.pricing.config import PricingConfig
from training.pricing.guardrails import ItemState, candidates, violations
from training.pricing.optimiser import propose
from training.pricing.pipeline import item_state

DemandFn = Callable[[str, np.ndarray, dt.date], np.ndarray]
"""True expected units of an item at each of some prices on a date."""
CURRENT, ORACLE = "current", "oracle"


@dataclass
class LoopResult:
    """Profit of each policy over the replay and guardrail violations by policy."""

    profit: dict[str, float] = field(default_factory=dict)
    revenue: dict[str, float] = field(default_factory=dict)
    violations: dict[str, int] = field(default_factory=dict)
    days: int = 0


def _oracle_price(
    item: ItemState, cfg: PricingConfig, demand: DemandFn, date: dt.date
) -> float | None:
    """The allowed price with the highest true profit (``None``: no price allowed)."""
    prices = candidates(item, cfg)
    allowed = np.array([not violations(p, item, cfg) for p in prices])
    if not allowed.any():
        return None
    units = demand(item.item_id, prices, date)
    profit = np.where(allowed, (prices - (item.unit_cost or 0.0)) * units, -np.inf)
    return float(prices[int(np.argmax(profit))])


def replay(
    start: pl.DataFrame,
    forecasts: pl.DataFrame,
    estimates: dict[str, pl.DataFrame],
    demand: DemandFn,
    cfg: PricingConfig,
    on_day: Callable[[int], None] | None = None,
) -> LoopResult:
    """Replay every policy over the forecast days.

    Args:
        start: Item states on day 0 (``item_states``): item_id, category, base_price,
            unit_cost, current_price, days_of_cover, on_order, lowest_price_30d.
        forecasts: item_id, period_start, forecast (units at day 0's price), one row per
            item and day; the replay runs over its days in order.
        estimates: Policy name → item_id, elasticity.
        demand: The true demand function.
        cfg: Objective and guardrails (exploration is not used).
        on_day: Called after each day with its index.

    Returns:
        Each policy's true profit and revenue, and guardrail violations by the prices
        it set (an item with no allowed price keeps its price and counts as none).
    """
    dates = forecasts["period_start"].unique().sort().to_list()
    expected = forecasts.pivot(on="period_start", index="item_id", values="forecast",
                               aggregate_function="sum")  # fmt: skip
    rows = start.join(expected, on="item_id")
    for name, table in estimates.items():
        rows = rows.join(table.select("item_id", pl.col("elasticity").alias(f"e_{name}")),
                         on="item_id")  # fmt: skip
    policies = [CURRENT, *estimates, ORACLE]
    result = LoopResult(
        profit=dict.fromkeys(policies, 0.0),
        revenue=dict.fromkeys(policies, 0.0),
        violations=dict.fromkeys(policies, 0),
        days=len(dates),
    )
    states = [{p: item_state(row) for p in policies} for row in rows.iter_rows(named=True)]
    for d, date in enumerate(dates):
        column = str(date)
        for row, state in zip(rows.iter_rows(named=True), states, strict=True):
            p0, cost = row["current_price"], row["unit_cost"] or 0.0
            chosen: dict[str, float | None] = {CURRENT: None}
            for name in estimates:
                item, e = state[name], row[f"e_{name}"]
                units_now = row[column] * (item.current_price / p0) ** e
                proposal = propose(item, units_now, e, cfg)
                chosen[name] = proposal.price if proposal else None
            chosen[ORACLE] = _oracle_price(state[ORACLE], cfg, demand, date)
            # no allowed price: the price stays (and is not counted as a violation)
            prices = np.array([state[p].current_price if chosen[p] is None else chosen[p]
                               for p in policies])  # fmt: skip
            units = demand(row["item_id"], prices, date)
            for k, policy in enumerate(policies):
                result.profit[policy] += float((prices[k] - cost) * units[k])
                result.revenue[policy] += float(prices[k] * units[k])
                if chosen[policy] is not None:
                    result.violations[policy] += bool(violations(prices[k], state[policy], cfg))
                    state[policy] = replace(state[policy], current_price=float(prices[k]))
        if on_day:
            on_day(d)
    return result
