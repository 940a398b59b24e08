"""The price optimiser: the best allowed price on the grid for the configured objective.

Expected units at a price come from today's forecast at the current price and the
item's elasticity: ``units(p) = forecast * (p / current) ** elasticity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from training.pricing.config import PricingConfig
from training.pricing.guardrails import ItemState, candidates, violations


@dataclass(frozen=True)
class Proposal:
    """A proposed price with its expected outcome and the reasons it is not elsewhere.

    ``reasons`` name every guardrail that removed a price the objective preferred;
    ``was_price`` is the lowest price of the last 30 days, the lawful reference for a
    reduction.
    """

    item_id: str
    current_price: float
    price: float
    expected_units: float
    expected_revenue: float
    expected_profit: float
    reasons: list[str] = field(default_factory=list)
    was_price: float | None = None


def _objective(prices: np.ndarray, units: np.ndarray, cost: float, cfg: PricingConfig,
               floor_units: float) -> np.ndarray:  # fmt: skip
    if cfg.objective == "revenue":
        return prices * units
    value = (prices - cost) * units
    if cfg.objective == "profit_with_volume_floor":
        value = np.where(units >= floor_units - 1e-9, value, -np.inf)
    return value


def propose(
    item: ItemState, forecast_units: float, elasticity: float, cfg: PricingConfig
) -> Proposal | None:
    """The best allowed price, or ``None`` when no price satisfies every guardrail (the
    current price then stays, and the pricing team should look at the rules)."""
    prices = candidates(item, cfg)
    units = forecast_units * (prices / item.current_price) ** elasticity
    cost = item.unit_cost or 0.0
    value = _objective(prices, units, cost, cfg, cfg.volume_floor * forecast_units)
    broken = [violations(p, item, cfg) for p in prices]
    allowed = np.array([not b for b in broken])
    if not allowed.any():
        return None
    options = np.flatnonzero(allowed)  # among allowed prices only: all may be -inf
    best = int(options[np.argmax(value[options])])
    better = value > value[best] + 1e-12
    reasons = sorted({rule for k in np.flatnonzero(better) for rule in broken[k]})
    return Proposal(
        item_id=item.item_id,
        current_price=item.current_price,
        price=float(prices[best]),
        expected_units=float(units[best]),
        expected_revenue=float(prices[best] * units[best]),
        expected_profit=float((prices[best] - cost) * units[best]),
        reasons=reasons,
        was_price=item.lowest_price_30d,
    )
