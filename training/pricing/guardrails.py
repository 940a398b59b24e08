"""Guardrails: which candidate prices an item may take today, and why others may not.

Every rule removes candidates and names itself; a proposal carries the codes of the
rules that removed a better price than the one chosen. One price per item per moment for
every shopper: nothing here looks at who is shopping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from training.pricing.config import PricingConfig

MIN_PRICE = "min_price"
MAX_PRICE = "max_price"
MAX_DAILY_CHANGE = "max_daily_change"
MARGIN_FLOOR = "margin_floor"
OVERSTOCK_MARKDOWN_ONLY = "overstock_markdown_only"
SHORT_STOCK_NO_DISCOUNT = "short_stock_no_discount"
RULES = (MIN_PRICE, MAX_PRICE, MAX_DAILY_CHANGE, MARGIN_FLOOR, OVERSTOCK_MARKDOWN_ONLY,
         SHORT_STOCK_NO_DISCOUNT)  # fmt: skip


@dataclass(frozen=True)
class ItemState:
    """What the guardrails need to know about an item today."""

    item_id: str
    current_price: float
    base_price: float
    unit_cost: float | None
    category: str | None = None
    days_of_cover: float | None = None
    on_order: int | None = None
    lowest_price_30d: float | None = None


def round_to_ending(price: float, ending: float | None) -> float:
    """The nearest price with the configured ending (x.99), or to the cent."""
    if ending is None:
        return round(price, 2)
    whole = math.floor(price - ending + 0.5)
    return round(max(whole, 0) + ending, 2)


def candidates(item: ItemState, cfg: PricingConfig) -> np.ndarray:
    """Rounded prices around the current one, up to the daily change limit and a bit
    beyond (so that the limit can be seen binding), without repeats."""
    span = cfg.max_daily_change * 1.5
    steps = np.arange(-span, span + cfg.grid_step / 2, cfg.grid_step)
    raw = item.current_price * (1 + steps)
    rounded = {round_to_ending(p, cfg.price_ending) for p in raw if p > 0}
    rounded.add(round(item.current_price, 2))
    return np.array(sorted(p for p in rounded if p > 0))


def violations(price: float, item: ItemState, cfg: PricingConfig) -> list[str]:
    """The rules ``price`` breaks for ``item`` (empty: allowed)."""
    broken = []
    bounds = cfg.bounds_for(item.category)
    eps = 1e-9
    if price < bounds.min_ratio * item.base_price - eps:
        broken.append(MIN_PRICE)
    if price > bounds.max_ratio * item.base_price + eps:
        broken.append(MAX_PRICE)
    if abs(price / item.current_price - 1) > cfg.max_daily_change + eps:
        broken.append(MAX_DAILY_CHANGE)
    if item.unit_cost is not None and price < item.unit_cost * (1 + cfg.margin_floor) - eps:
        broken.append(MARGIN_FLOOR)
    cover = item.days_of_cover
    if cover is not None and cover > cfg.overstock_cover_days and price > item.current_price + eps:
        broken.append(OVERSTOCK_MARKDOWN_ONLY)
    short = cover is not None and cover < cfg.short_cover_days and not (item.on_order or 0)
    if short and price < item.current_price - eps:
        broken.append(SHORT_STOCK_NO_DISCOUNT)
    return broken


PRICE_ENDING = "price_ending"
"""A price set by hand must have the configured ending (proposals' candidates have it)."""


def manual_violations(price: float, item: ItemState, cfg: PricingConfig) -> list[str]:
    """The rules a price set by hand breaks: those of :func:`violations`, and the price
    ending (every candidate is rounded; a typed price may not be)."""
    broken = violations(price, item, cfg)
    if abs(round_to_ending(price, cfg.price_ending) - price) > 1e-9:
        broken.append(PRICE_ENDING)
    return broken


def explain(rule: str, price: float, item: ItemState, cfg: PricingConfig) -> str:
    """Why ``price`` breaks ``rule`` for ``item``, with the limit, in one line."""
    bounds, now = cfg.bounds_for(item.category), item.current_price
    change = price / now - 1
    cover = item.days_of_cover or 0.0
    texts = {
        MIN_PRICE: f"{price:.2f} is below {bounds.min_ratio:.0%} of the base price "
        f"{item.base_price:.2f} (lowest allowed {bounds.min_ratio * item.base_price:.2f})",
        MAX_PRICE: f"{price:.2f} is above {bounds.max_ratio:.0%} of the base price "
        f"{item.base_price:.2f} (highest allowed {bounds.max_ratio * item.base_price:.2f})",
        MAX_DAILY_CHANGE: f"{price:.2f} is {abs(change):.0%} {'above' if change > 0 else 'below'}"
        f" today's {now:.2f} (limit {cfg.max_daily_change:.0%})",
        MARGIN_FLOOR: f"{price:.2f} is under unit cost {item.unit_cost or 0:.2f} plus "
        f"{cfg.margin_floor:.0%} ({(item.unit_cost or 0) * (1 + cfg.margin_floor):.2f})",
        OVERSTOCK_MARKDOWN_ONLY: f"{cover:.0f} days of cover (over "
        f"{cfg.overstock_cover_days:.0f}): markdowns only, {price:.2f} is above today's {now:.2f}",
        SHORT_STOCK_NO_DISCOUNT: f"{cover:.0f} days of cover (under {cfg.short_cover_days:.0f}) "
        f"and nothing on order: no discount below today's {now:.2f}",
        PRICE_ENDING: f"{price:g} does not end in "
        f"{'whole cents' if cfg.price_ending is None else f'{cfg.price_ending:.2f}'[1:]} "
        f"(nearest {round_to_ending(price, cfg.price_ending):.2f})",
    }
    return f"{rule}: {texts[rule]}"


class GuardrailError(ValueError):
    """A price set by hand breaks guardrails; nothing was written.

    Attributes:
        rules: The codes of the rules broken.
    """

    def __init__(self, rules: list[str], message: str) -> None:
        super().__init__(message)
        self.rules = rules
