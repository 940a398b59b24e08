"""The simulated shop's own decisions: its historical pricing and its replenishment.

The pricing policy reacts to what it observes (recent sales and stock), which is what
biases naive elasticity estimates on observational data; a share of items instead runs
randomised price tests, where price is independent of demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.config import InventoryConfig, PricingPolicyConfig


@dataclass
class PricingPolicy:
    """Per-item price multipliers over the base price, updated once a day."""

    cfg: PricingPolicyConfig
    factor: np.ndarray  # current list-price multiplier of the base price
    markdown: np.ndarray  # bool: the item is marked down (shown as a promotion)
    is_test: np.ndarray  # bool: the item is in a randomised price test
    review_offset: np.ndarray  # day of the review cycle on which the item is reviewed

    @classmethod
    def start(
        cls, cfg: PricingPolicyConfig, is_test: np.ndarray, rng: np.random.Generator
    ) -> PricingPolicy:
        """All items at their base price; items flagged ``is_test`` priced by the test."""
        n_items = len(is_test)
        return cls(
            cfg=cfg,
            factor=np.ones(n_items),
            markdown=np.zeros(n_items, bool),
            is_test=is_test.copy(),
            review_offset=rng.integers(0, cfg.review_every_days, n_items),
        )

    def update(
        self,
        day: int,
        fast_demand: np.ndarray,
        slow_demand: np.ndarray,
        on_hand: np.ndarray,
        target_stock: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Review today's items: raise on strong demand, mark down on overstock.

        An item is overstocked when it holds more than its target stock and more than
        ``markdown_cover_days`` of its recent sales.
        """
        c = self.cfg
        if day % c.test_period_days == 0:
            levels = np.asarray(c.test_levels)
            self.factor[self.is_test] = rng.choice(levels, self.is_test.sum())
        due = (day % c.review_every_days == self.review_offset) & ~self.is_test
        ratio = fast_demand / np.maximum(slow_demand, 0.05)
        cover = on_hand / np.maximum(fast_demand, 0.05)
        overstock = due & (cover > c.markdown_cover_days) & (on_hand > target_stock)
        hot = due & ~overstock & (ratio > c.raise_when_demand_ratio)
        cool = due & ~overstock & ~hot & (ratio < 1 / c.raise_when_demand_ratio)
        recovered = due & self.markdown & (on_hand <= target_stock)
        f = self.factor
        f[overstock] = np.maximum(c.max_markdown, f[overstock] * (1 - c.markdown_step))
        self.markdown |= overstock
        f[hot] = np.minimum(c.max_markup, f[hot] * (1 + c.raise_step))
        f[cool & (f > 1)] = np.maximum(1.0, f[cool & (f > 1)] * (1 - c.raise_step))
        back = recovered & ~overstock
        f[back] = np.minimum(1.0, f[back] / (1 - c.markdown_step))
        self.markdown &= ~(back & (f >= 1.0))
        self.markdown &= f < 1.0


@dataclass
class Replenishment:
    """Reorder-point policy: order up to ``order_up_to`` when stock position ≤ ``reorder_point``."""

    reorder_point: np.ndarray
    order_up_to: np.ndarray
    order_multiplier: np.ndarray  # > 1 for items a supplier overships (they pile up)
    lead_time: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    arrivals: np.ndarray  # (items, days + max lead): units arriving at the start of a day

    @classmethod
    def start(
        cls,
        cfg: InventoryConfig,
        planned_daily_units: np.ndarray,
        price_test: np.ndarray,
        days: int,
        rng: np.random.Generator,
    ) -> Replenishment:
        """Stock levels sized from the shop's own demand plan, some items run short or long.

        Items under a price test get ``test_safety_days`` of safety stock and are never run
        short, so that stock-outs do not censor the test.
        """
        n = len(planned_daily_units)
        lead = rng.integers(cfg.lead_time_days[0], cfg.lead_time_days[1] + 1, n)
        safety = np.where(rng.random(n) < cfg.understock_share, 0.0, cfg.safety_days)
        safety = np.where(price_test, cfg.test_safety_days, safety)
        reorder = np.ceil(planned_daily_units * (lead + safety))
        up_to = reorder + np.ceil(planned_daily_units * cfg.cycle_days) + 1
        multiplier = np.where(rng.random(n) < cfg.overstock_share, cfg.overstock_multiplier, 1.0)
        return cls(
            reorder_point=reorder,
            order_up_to=up_to,
            order_multiplier=multiplier,
            lead_time=lead,
            on_hand=np.floor(up_to * rng.uniform(0.5, 1.0, n)).astype(np.int64),
            on_order=np.zeros(n, np.int64),
            arrivals=np.zeros((n, days + cfg.lead_time_days[1] + 1), np.int64),
        )

    def receive(self, day: int) -> None:
        """Book today's deliveries into stock."""
        arriving = self.arrivals[:, day]
        self.on_hand += arriving
        self.on_order -= arriving

    def sell(self, units: np.ndarray) -> None:
        """Take sold units out of stock."""
        self.on_hand -= units

    def reorder(self, day: int, active: np.ndarray) -> None:
        """Place orders for active items whose stock position fell to the reorder point."""
        position = self.on_hand + self.on_order
        due = active & (position <= self.reorder_point)
        qty = np.where(due, np.ceil((self.order_up_to - position) * self.order_multiplier), 0)
        qty = qty.astype(np.int64)
        self.on_order += qty
        idx = np.flatnonzero(qty)
        self.arrivals[idx, day + self.lead_time[idx]] += qty[idx]
