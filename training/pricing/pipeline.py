"""``storefront price propose``: one day's prices for every item from forecast ×
elasticity under the guardrails, saved with a report, published when configured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from training.pricing.config import PricingConfig
from training.pricing.exploration import explorers, sampled_elasticity
from training.pricing.guardrails import ItemState
from training.pricing.inputs import KEEP, OWN, proposal_inputs
from training.pricing.optimiser import propose
from training.pricing.proposals import PROPOSED, ProposalSet, new_id, save

EXPLORATION = "exploration"
NO_ALLOWED_PRICE = "no_allowed_price"
IMPLAUSIBLE_ELASTICITY = "implausible_elasticity"
"""The item's elasticity was implausible: priced on its category's, or kept its price."""
AUTO_APPROVER = "auto:configs/pricing.yaml"


def item_state(row: dict[str, Any]) -> ItemState:
    """The guardrails' view of an input or proposal row."""
    return ItemState(
        item_id=row["item_id"],
        current_price=row["current_price"],
        base_price=row["base_price"],
        unit_cost=row["unit_cost"],
        category=row["category"],
        days_of_cover=row["days_of_cover"],
        on_order=row["on_order"],
        lowest_price_30d=row.get("lowest_price_30d", row.get("was_price")),
    )


def propose_all(
    inputs: pl.DataFrame, cfg: PricingConfig, rng: np.random.Generator | None = None
) -> pl.DataFrame:
    """A proposal row per input row (see :func:`training.pricing.inputs.proposal_inputs`).

    Expected units, revenue and profit use the point elasticity, also for items priced
    with a Thompson draw (``exploration``): the expectation stays honest while the
    price explores. An item whose own estimate is implausible (``elasticity_source``
    other than ``own``, see :func:`training.pricing.inputs.priced_elasticities`) is
    priced on its category's estimate or keeps today's price, with the reason
    :data:`IMPLAUSIBLE_ELASTICITY`, and never explores.

    Returns:
        item_id, category, current_price, price, change, expected_units/revenue/profit,
        current_units/profit (at today's price), elasticity (the one priced on),
        ci_low, ci_high, reasons, was_price, exploration, item_elasticity,
        elasticity_flags, implausible, elasticity_source, and the state the guardrails
        saw (base_price, unit_cost, days_of_cover, on_order).
    """
    if "elasticity_source" not in inputs.columns:
        inputs = inputs.with_columns(
            item_elasticity=pl.col("elasticity"), elasticity_flags=pl.lit([], pl.List(pl.String)),
            elasticity_source=pl.lit(OWN),
        )  # fmt: skip
    implausible = (inputs["elasticity_source"] != OWN).to_numpy()
    exploring = explorers(inputs, cfg.exploration) & pl.Series(~implausible)
    rng = rng or np.random.default_rng(cfg.exploration.seed)
    priced = sampled_elasticity(inputs, exploring, cfg.exploration.interval_level, rng)
    rows = []
    for row, elasticity, explores in zip(inputs.iter_rows(named=True), priced, exploring,
                                         strict=True):  # fmt: skip
        item = item_state(row)
        keep = row["elasticity_source"] == KEEP
        proposal = None if keep else propose(item, row["forecast"], elasticity, cfg)
        price = proposal.price if proposal else item.current_price
        reasons = proposal.reasons if proposal else ([] if keep else [NO_ALLOWED_PRICE])
        if row["elasticity_source"] != OWN:
            reasons = [IMPLAUSIBLE_ELASTICITY, *reasons]
        units = row["forecast"] * (price / item.current_price) ** row["elasticity"]
        cost = item.unit_cost or 0.0
        rows.append(
            {
                "item_id": item.item_id,
                "category": item.category,
                "current_price": item.current_price,
                "price": price,
                "change": price / item.current_price - 1,
                "expected_units": units,
                "expected_revenue": price * units,
                "expected_profit": (price - cost) * units,
                "current_units": row["forecast"],
                "current_profit": (item.current_price - cost) * row["forecast"],
                "elasticity": row["elasticity"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "reasons": [*reasons, *([EXPLORATION] if explores else [])],
                "was_price": item.lowest_price_30d,
                "exploration": bool(explores),
                "item_elasticity": row["item_elasticity"],
                "elasticity_flags": row["elasticity_flags"],
                "implausible": row["elasticity_source"] != OWN,
                "elasticity_source": row["elasticity_source"],
                "base_price": item.base_price,
                "unit_cost": item.unit_cost,
                "days_of_cover": item.days_of_cover,
                "on_order": item.on_order,
            }
        )
    return pl.DataFrame(
        rows,
        schema_overrides={"reasons": pl.List(pl.String), "elasticity_flags": pl.List(pl.String)},
        infer_schema_length=None,  # a column's first rows may all be null or whole numbers
    )


def propose_prices(
    data_dir: Path, date: dt.date, cfg: PricingConfig, now: dt.datetime | None = None
) -> ProposalSet:
    """Propose ``date``'s prices for the shop in ``data_dir``, save the proposal and, with
    ``auto_approve``, publish it.

    Raises:
        ValueError: Inputs missing or ``date`` outside the forecasts.
        FileNotFoundError: No forecasts or elasticity estimates yet.
    """
    stamp = now or dt.datetime.now(dt.UTC)
    table = propose_all(proposal_inputs(data_dir, date), cfg)
    proposal = ProposalSet(
        proposal_id=new_id(data_dir, date, stamp),
        date=date,
        table=table,
        meta={
            "date": date.isoformat(),
            "created_at": stamp.isoformat(),
            "objective": cfg.objective,
            "status": PROPOSED,
            "items": table.height,
        },
    )
    save(proposal, data_dir)
    if cfg.auto_approve:
        from training.pricing.actions import approve  # the ledger's flows import this module

        approve(data_dir, proposal.proposal_id, AUTO_APPROVER, stamp)
        proposal.meta |= {"status": "published", "approved_by": AUTO_APPROVER}
    return proposal
