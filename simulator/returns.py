"""Returns after purchases: who sends what back, when, why, and for how much.

A purchase is returned (all its units) with a probability that depends on its category
(drawn per category from ``returns.rate_range``, or set in ``returns.category_rates``)
and rises with the price paid relative to the category's median base price. The return
comes ``returns.delay_days`` later, as its own visit, refunds the price paid and names a
reason from ``returns.reasons``. Returns are drawn after the day loop from their own
random stream, so turning them on or off leaves every other event, price and stock level
as it was; returned units are not put back on the shelf, and returns falling after the
history's end are not in it.
"""

from __future__ import annotations

import numpy as np

from simulator.config import ReturnsConfig, SimulationConfig
from simulator.world import World

SECONDS_PER_DAY = 86_400
PURCHASE, RETURN = 2, 3
"""Event type codes of the raw event arrays (``simulator.feeds.EVENT_TYPES``)."""


def category_rates(cfg: SimulationConfig, world: World) -> np.ndarray:
    """Each category's return probability at its median price (``(C,)``).

    Drawn uniformly from ``returns.rate_range`` with a random stream of its own (so the
    same seed gives the same rates), then replaced where ``returns.category_rates`` names
    the category.
    """
    r = cfg.returns
    unknown = sorted(set(r.category_rates) - set(world.category_names.tolist()))
    if unknown:
        raise ValueError(
            f"returns.category_rates: no category {unknown[0]!r} in the simulated shop "
            f"(its categories: {world.category_names[0]} .. {world.category_names[-1]})"
        )
    rng = np.random.default_rng([cfg.seed, 3])
    rates = rng.uniform(*r.rate_range, len(world.category_names))
    for name, rate in r.category_rates.items():
        rates[world.category_names == name] = rate
    return rates


def _category_medians(world: World) -> np.ndarray:
    """Median base price of each category (``(C,)``)."""
    return np.array(
        [
            np.median(world.base_price[world.item_category == c])
            for c in range(len(world.category_names))
        ]
    )


def return_probability(
    cfg: SimulationConfig, world: World, items: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """Probability that a purchase of ``items`` at ``prices`` is returned.

    ``rate(category) * (price / category median base price) ** price_exponent``, at
    most ``returns.max_rate``.
    """
    r: ReturnsConfig = cfg.returns
    category = world.item_category[items]
    relative = prices / _category_medians(world)[category]
    rate = category_rates(cfg, world)[category] * relative**r.price_exponent
    return np.minimum(rate, r.max_rate)


def draw_returns(
    cfg: SimulationConfig, world: World, events: dict[str, np.ndarray], n_sessions: int
) -> dict[str, np.ndarray]:
    """The raw event arrays with each purchase's ``order`` and the returns added.

    Args:
        cfg: Simulation settings (``returns``).
        world: The simulated shop.
        events: Raw event columns (``type``, ``user``, ``session``, ``item``, ``second``,
            ``quantity``, ``price``).
        n_sessions: Sessions simulated; returns are numbered as visits after them.

    Returns:
        The columns plus ``order`` (the purchase's session for purchases and their
        returns, -1 otherwise) and ``reason`` (index into ``returns.reasons``, -1 for
        events that are not returns), returns appended.
    """
    n = len(events["type"])
    purchase = events["type"] == PURCHASE
    order = np.where(purchase, events["session"], -1)
    out = {**events, "order": order, "reason": np.full(n, -1, np.int64)}
    r = cfg.returns
    if not r.enabled or not purchase.any():
        return out
    rng = np.random.default_rng([cfg.seed, 2])
    idx = np.flatnonzero(purchase)
    p = return_probability(cfg, world, events["item"][idx], events["price"][idx])
    back = idx[rng.random(len(idx)) < p]
    low, high = r.delay_days
    delay = rng.uniform(low, high + 1, len(back)) * SECONDS_PER_DAY
    second = events["second"][back] + delay
    within = second < cfg.days * SECONDS_PER_DAY
    back, second = back[within], second[within]
    returns = {
        "type": np.full(len(back), RETURN, events["type"].dtype),
        "user": events["user"][back],
        "session": n_sessions + np.arange(len(back)),
        "item": events["item"][back],
        "second": second,
        "quantity": events["quantity"][back],
        "price": events["price"][back],
        "order": events["session"][back],
        "reason": rng.integers(0, len(r.reasons), len(back)),
    }
    return {name: np.concatenate([out[name], returns[name]]) for name in out}
