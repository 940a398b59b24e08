"""The day-by-day simulation: sessions, choices, stock, prices → the five feeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simulator.config import SimulationConfig
from simulator.feeds import build_feeds
from simulator.policies import PricingPolicy, Replenishment
from simulator.returns import draw_returns
from simulator.truth import GroundTruth
from simulator.world import HOURLY_TRAFFIC, World, build_world, traffic_multiplier
from storefront.feeds import Feeds

SECONDS_PER_DAY = 86_400


@dataclass
class _Log:
    """Columns accumulated over the days, concatenated once at the end."""

    events: dict[str, list[np.ndarray]] = field(default_factory=dict)
    days: dict[str, list[np.ndarray]] = field(default_factory=dict)

    @staticmethod
    def _add(store: dict[str, list[np.ndarray]], **cols: np.ndarray) -> None:
        for name, values in cols.items():
            store.setdefault(name, []).append(values)

    def add_events(self, **cols: np.ndarray) -> None:
        self._add(self.events, **cols)

    def add_day(self, **cols: np.ndarray) -> None:
        self._add(self.days, **cols)

    @staticmethod
    def concat(store: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in store.items()}


@dataclass(frozen=True)
class Simulation:
    """What a simulation run produces: the feeds and the truth behind them."""

    feeds: Feeds
    truth: GroundTruth


def _sample_rows(cdf: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each ``rows[k]`` draw a column from that row's cumulative distribution ``cdf``."""
    n_cols = cdf.shape[1]
    offset = cdf + np.arange(cdf.shape[0])[:, None]  # row r lives in [r, r + 1]
    pos = np.searchsorted(offset.ravel(), rows + rng.random(len(rows)), side="right")
    return np.minimum(pos - rows * n_cols, n_cols - 1)


class _Day:
    """One day of shopping; methods run in order and fill the log."""

    def __init__(self, sim: _Simulator, day: int) -> None:
        self.sim, self.day = sim, day

    def sessions(self) -> tuple[np.ndarray, np.ndarray]:
        """Who shops today: a user per session and the session's start second."""
        s, w = self.sim, self.sim.world
        n = s.rng.poisson(s.cfg.behaviour.sessions_per_day * s.traffic[self.day])
        weight = w.activity * (w.user_signup_day <= self.day)
        users = s.rng.choice(len(weight), n, p=weight / weight.sum())
        hour = s.rng.choice(24, n, p=HOURLY_TRAFFIC / HOURLY_TRAFFIC.sum())
        return users, hour * 3600 + s.rng.uniform(0, 3600, n)

    def views(self, users: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray]:
        """Each session views items: a category by taste, an item by popularity and trend."""
        s, w, b = self.sim, self.sim.world, self.sim.cfg.behaviour
        n_views = 1 + s.rng.poisson(b.views_per_session - 1, len(users))
        session = np.repeat(np.arange(len(users)), n_views)
        user = users[session]
        category = _sample_rows(s.category_cdf, user, s.rng)
        weight = w.popularity * np.exp(s.shock) * (w.item_created_day <= self.day)
        col = _sample_rows(s.within_category_cdf(weight), category, s.rng)
        item = s.item_by_category[s.category_starts[category] + col]
        gaps = s.rng.exponential(60.0, len(session))
        first = np.concatenate([[0], np.cumsum(n_views)[:-1]])
        elapsed = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] - gaps[first], n_views)
        return {"session": session, "user": user, "item": item, "time": starts[session] + elapsed}

    def choices(self, v: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Add-to-cart by taste × price × promotion; purchase of a share of the carts."""
        s, w, b = self.sim, self.sim.world, self.sim.cfg.behaviour
        item, user = v["item"], v["user"]
        affinity = np.einsum("nd,nd->n", w.taste[user], w.item_embedding[item])
        tier = w.user_tier[user]
        p_cart = (
            b.cart_rate
            * np.exp(b.taste_weight * affinity)
            * s.price_factor[item] ** (w.elasticity[item] * w.tier_elasticity_multiplier[tier])
            * np.where(s.promo[item], w.tier_promo_lift[tier], 1.0)
        )
        cart = s.rng.random(len(item)) < np.minimum(p_cart, 1.0)
        buy = cart & (s.rng.random(len(item)) < b.purchase_given_cart)
        qty = 1 + s.rng.poisson(b.extra_quantity_mean, len(item))
        return cart, buy, qty

    def stock(
        self, v: dict[str, np.ndarray], cart: np.ndarray, buy: np.ndarray, qty: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Serve purchases in time order until each item's stock runs out.

        Returns cart and purchase masks after stock, the add-to-cart and checkout times,
        and each item's stock-out second (``inf`` when it did not run out).
        """
        s = self.sim
        cart_time = v["time"] + s.rng.uniform(5, 90, len(cart))
        session_end = np.zeros(v["session"].max() + 1 if len(cart) else 0)
        np.maximum.at(session_end, v["session"], cart_time)
        buy_time = session_end[v["session"]] + s.rng.uniform(30, 300, len(cart))
        on_hand = s.stock.on_hand
        stockout = np.where(on_hand <= 0, -np.inf, np.inf)
        idx = np.flatnonzero(buy)
        order = idx[np.lexsort((buy_time[idx], v["item"][idx]))]
        items = v["item"][order]
        cum = np.cumsum(qty[order])
        starts = np.searchsorted(items, items, side="left")
        cum_item = cum - np.concatenate([[0], cum])[starts]
        exhausted = cum_item >= on_hand[items]
        # the first purchase that empties (or would overdraw) the shelf marks the stock-out
        first = np.flatnonzero(exhausted & np.r_[True, ~exhausted[:-1] | (items[1:] != items[:-1])])
        np.minimum.at(stockout, items[first], buy_time[order][first])
        cart_ok = cart & (cart_time < stockout[v["item"]])
        served = np.zeros(len(cart), bool)
        served[order] = cum_item <= on_hand[items]
        return cart_ok, buy & cart_ok & served, cart_time, buy_time, stockout

    def run(self) -> None:
        """Simulate the day and append its events and item-day rows to the log."""
        s, w = self.sim, self.sim.world
        s.stock.receive(self.day)
        s.set_prices(self.day)
        v = self.views(*self.sessions())
        cart, buy, qty = self.choices(v)
        cart, buy, cart_time, buy_time, stockout = self.stock(v, cart, buy, qty)
        units = np.bincount(v["item"][buy], weights=qty[buy], minlength=len(w.item_ids))
        s.stock.sell(units.astype(np.int64))
        s.observe(units)
        s.stock.reorder(self.day, w.item_created_day <= self.day)
        base = self.day * SECONDS_PER_DAY
        n_sessions = v["session"].max() + 1 if len(v["session"]) else 0
        for code, mask, time, quantity in (
            (0, np.ones(len(cart), bool), v["time"], np.ones(len(cart), np.int64)),
            (1, cart, cart_time, qty),
            (2, buy, buy_time, qty),
        ):
            s.log.add_events(
                type=np.full(mask.sum(), code, np.int8),
                user=v["user"][mask],
                session=v["session"][mask] + s.sessions_so_far,
                item=v["item"][mask],
                second=base + time[mask],
                quantity=quantity[mask],
                price=s.price[v["item"][mask]],
            )
        s.sessions_so_far += n_sessions
        s.log.add_day(
            day=np.full(len(w.item_ids), self.day),
            item=np.arange(len(w.item_ids)),
            price=s.price,
            promo=s.promo,
            units=units,
            stockout=stockout < SECONDS_PER_DAY,
            on_hand=s.stock.on_hand.copy(),
            on_order=s.stock.on_order.copy(),
        )
        s.advance_shock()


class _Simulator:
    """Mutable state of a run: stock, prices, demand trends and the growing log."""

    def __init__(self, cfg: SimulationConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.world: World = build_world(cfg, self.rng)
        w, b = self.world, cfg.behaviour
        self.traffic = traffic_multiplier(cfg, np.arange(cfg.days), w.promo_days)
        self.category_cdf = np.cumsum(w.category_preference, axis=1)
        self.item_by_category = np.argsort(w.item_category, kind="stable")
        self.category_sizes = np.bincount(w.item_category, minlength=len(w.category_names))
        self.category_starts = np.cumsum(self.category_sizes) - self.category_sizes
        stationary_sd = b.demand_shock_sd / np.sqrt(1 - b.demand_shock_ar**2)
        self.shock = self.rng.normal(0, stationary_sd, len(w.item_ids)) - stationary_sd**2 / 2
        planned = GroundTruth(cfg, w).planned_daily_units()
        self.stock = Replenishment.start(
            cfg.inventory, planned, w.item_price_test, cfg.days, self.rng
        )
        self.pricing = PricingPolicy.start(cfg.pricing, w.item_price_test, self.rng)
        self.fast_demand, self.slow_demand = planned.copy(), planned.copy()
        self.price = w.base_price.copy()
        self.price_factor = np.ones(len(w.item_ids))
        self.promo = np.zeros(len(w.item_ids), bool)
        self.sessions_so_far = 0
        self.log = _Log()

    def within_category_cdf(self, weight: np.ndarray) -> np.ndarray:
        """Per-category cumulative item distribution, padded to the largest category."""
        sizes = self.category_sizes
        grid = np.zeros((len(sizes), sizes.max()))
        col = np.arange(len(weight)) - np.repeat(self.category_starts, sizes)
        grid[self.world.item_category[self.item_by_category], col] = weight[self.item_by_category]
        cdf = np.cumsum(grid, axis=1)
        cdf /= np.maximum(cdf[:, -1:], 1e-300)
        cdf[np.arange(sizes.max())[None, :] >= sizes[:, None]] = 1.0
        return cdf

    def set_prices(self, day: int) -> None:
        """Today's list prices: the policy's, plus site-wide promotion-day discounts."""
        cfg, w = self.cfg, self.world
        self.pricing.update(
            day,
            self.fast_demand,
            self.slow_demand,
            self.stock.on_hand,
            self.stock.order_up_to,
            self.rng,
        )
        factor, promo = self.pricing.factor.copy(), self.pricing.markdown.copy()
        if day in w.promo_days:
            s = cfg.seasonality
            on_promo = ~self.pricing.is_test & (self.rng.random(len(factor)) < s.promo_item_share)
            factor[on_promo] = np.minimum(factor[on_promo], 1 - s.promo_discount)
            promo |= on_promo
        self.price = np.maximum(np.round(w.base_price * factor, 2), 0.01)
        self.price_factor = self.price / w.base_price
        self.promo = promo

    def observe(self, units: np.ndarray) -> None:
        """Update the demand trends the pricing policy watches (sales, so censored)."""
        self.fast_demand += (units - self.fast_demand) / 5
        self.slow_demand += (units - self.slow_demand) / 28

    def advance_shock(self) -> None:
        """Items' latent popularity trends drift (AR(1) in logs, mean-one level)."""
        b = self.cfg.behaviour
        sd = b.demand_shock_sd / np.sqrt(1 - b.demand_shock_ar**2)
        centred = self.shock + sd**2 / 2
        centred = b.demand_shock_ar * centred + self.rng.normal(0, b.demand_shock_sd, len(centred))
        self.shock = centred - sd**2 / 2


def simulate(cfg: SimulationConfig, on_day: Callable[[int], None] | None = None) -> Simulation:
    """Run the simulation described by ``cfg``.

    Args:
        cfg: Simulation settings; the run is a pure function of them and of its dates
            (``cfg.seed``; without ``start_date``/``end_date`` the history ends today at
            00:00 UTC). The ground truth keeps the dates it ran on.
        on_day: Called after each simulated day with its number (for progress bars).

    Returns:
        The five feeds (validated against the contract) and the ground truth.
    """
    cfg = cfg.resolved()
    sim = _Simulator(cfg)
    for day in range(cfg.days):
        _Day(sim, day).run()
        if on_day is not None:
            on_day(day)
    events = draw_returns(cfg, sim.world, _Log.concat(sim.log.events), sim.sessions_so_far)
    feeds = build_feeds(cfg, sim.world, events, _Log.concat(sim.log.days))
    return Simulation(feeds=feeds, truth=GroundTruth(cfg, sim.world))
