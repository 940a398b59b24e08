"""What the pricing desk shows of one item: its proposal row, the expected-profit curve
over the candidate prices the optimiser chose from (allowed or not, by the same
guardrails), the demand forecast fan and the item's ledger entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from training.pricing.config import PricingConfig
from training.pricing.guardrails import candidates, violations
from training.pricing.pipeline import item_state
from training.pricing.proposals import ProposalSet

HISTORY_DAYS = 56
"""Days of sold units shown before the forecast."""


def profit_curve(row: dict[str, Any], cfg: PricingConfig) -> dict[str, Any]:
    """Expected units and profit at each candidate price of the proposal's grid, as the
    optimiser computes them (``units = forecast × (p / today) ** elasticity``), with the
    guardrails each price breaks."""
    item = item_state(row)
    prices = candidates(item, cfg)
    units = row["current_units"] * (prices / item.current_price) ** row["elasticity"]
    profit = (prices - (item.unit_cost or 0.0)) * units
    return {
        "price": [float(p) for p in prices],
        "units": [float(u) for u in units],
        "profit": [float(v) for v in profit],
        "broken": [violations(float(p), item, cfg) for p in prices],
        "current_price": item.current_price,
        "proposed_price": row["price"],
        "expected_profit": row["expected_profit"],
    }


def forecast_fan(data_dir: Path, item_id: str) -> dict[str, Any]:
    """Units sold by day (the last :data:`HISTORY_DAYS`) and the forecast's P10, P50
    and P90 by day, summed over locations (empty lists when missing)."""
    from training.demand.forecast import read_forecasts
    from training.demand.pipeline import read_demand

    try:
        ahead = read_forecasts(data_dir).filter(pl.col("item_id") == item_id)
    except FileNotFoundError:
        ahead = pl.DataFrame(schema={"period_start": pl.Date, "p10": pl.Float64,
                                     "p50": pl.Float64, "p90": pl.Float64})  # fmt: skip
    future = ahead.group_by("period_start").agg(pl.col("p10", "p50", "p90").sum())
    future = future.sort("period_start")
    try:
        sold = read_demand(data_dir).filter(pl.col("item_id") == item_id)
        past = sold.group_by("period_start").agg(pl.col("units").sum()).sort("period_start")
    except ValueError:
        past = pl.DataFrame(schema={"period_start": pl.Date, "units": pl.Float64})
    past = past.tail(HISTORY_DAYS)
    return {
        "sold_day": [str(d) for d in past["period_start"]],
        "sold": [float(u) for u in past["units"]],
        "day": [str(d) for d in future["period_start"]],
        **{q: [float(v) for v in future[q]] for q in ("p10", "p50", "p90")},
    }


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row with JSON-ready values (NaN as ``None``, times as ISO text)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out


def item_detail(
    data_dir: Path, proposal: ProposalSet, item_id: str, entries: pl.DataFrame, cfg: PricingConfig
) -> dict[str, Any]:
    """The item's detail for the desk.

    Raises:
        KeyError: The proposal does not price ``item_id``.
    """
    found = proposal.table.filter(pl.col("item_id") == item_id)
    if found.is_empty():
        raise KeyError(item_id)
    row = found.row(0, named=True)
    mine = entries.filter(pl.col("item_id") == item_id)
    return {
        "proposal_id": proposal.proposal_id,
        "date": proposal.date.isoformat(),
        "item": plain(row),
        "curve": profit_curve(row, cfg),
        "fan": forecast_fan(data_dir, item_id),
        "history": [plain(r) for r in mine.iter_rows(named=True)],
    }
