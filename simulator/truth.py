"""Ground truth of a simulated shop, and its demand function for closed-loop pricing.

The truth is saved next to the feeds as ``ground_truth.npz``; :meth:`GroundTruth.demand`
gives the expected units an item sells at a price on a date, from the same choice model
that generated the events (unconstrained by stock).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

from simulator.config import SimulationConfig
from simulator.returns import return_probability
from simulator.world import World, day_index, traffic_multiplier
from storefront.workspace import workspace

TRUTH_FILE = "ground_truth.npz"


class GroundTruth:
    """The simulator's truth: configuration, world arrays and the demand model.

    Args:
        cfg: The simulation's configuration.
        world: The drawn world.
    """

    def __init__(self, cfg: SimulationConfig, world: World) -> None:
        self.cfg, self.world = cfg, world
        self._index = {item: k for k, item in enumerate(world.item_ids)}
        self._signups = np.sort(world.user_signup_day)
        self._tier_cache: dict[tuple[int, int, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._views: dict[int, tuple[np.ndarray, float]] = {}

    # --- persistence -------------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        """Write the truth as one compressed ``.npz`` file."""
        np.savez_compressed(
            path, config=np.array(self.cfg.model_dump_json()), **self.world.as_arrays()
        )

    @classmethod
    def load(cls, path: Path | str) -> GroundTruth:
        """Read a truth file written by :meth:`save` (the file, or a shop folder whose
        feeds came from the simulator)."""
        path = Path(path)
        if path.is_dir():
            path = workspace(path).feed_file(TRUTH_FILE)
        with np.load(path, allow_pickle=False) as data:
            cfg = SimulationConfig.model_validate(json.loads(str(data["config"])))
            world = World(**{k: data[k] for k in data.files if k != "config"})
        return cls(cfg, world)

    # --- demand -------------------------------------------------------------------------
    def item_index(self, item_id: str) -> int:
        """Position of ``item_id`` in the world arrays."""
        try:
            return self._index[item_id]
        except KeyError:
            raise KeyError(f"item {item_id!r} is not in the simulated catalogue") from None

    def _view_rate(self, day: int) -> tuple[np.ndarray, float]:
        """Per-user share of today's sessions and the expected number of views today
        (cached by day)."""
        if day not in self._views:
            self._views[day] = self._compute_view_rate(day)
        return self._views[day]

    def _compute_view_rate(self, day: int) -> tuple[np.ndarray, float]:
        w, b = self.world, self.cfg.behaviour
        weight = w.activity * (w.user_signup_day <= day)
        traffic = traffic_multiplier(self.cfg, np.array([day]), w.promo_days)[0]
        return weight / weight.sum(), b.sessions_per_day * traffic * b.views_per_session

    def demand(
        self, item_id: str, price: float | np.ndarray, date: dt.date | str, promo: bool = False
    ) -> float | np.ndarray:
        """Expected units of ``item_id`` sold on ``date`` at ``price`` (unlimited stock).

        Args:
            item_id: A simulated item.
            price: One price or an array of prices (e.g. a candidate grid).
            date: Any date; traffic follows the simulated calendar (promotion days only
                within the simulated period).
            promo: Whether the item is shown as on promotion.

        Returns:
            Expected units, shaped like ``price``.
        """
        i = self.item_index(item_id)
        w, b = self.world, self.cfg.behaviour
        day = day_index(self.cfg, date)
        _, views = self._view_rate(day)
        in_category = (w.item_category == w.item_category[i]) & (w.item_created_day <= day)
        item_share = w.popularity[i] / w.popularity[in_category].sum()
        factor = np.atleast_1d(np.asarray(price, float)) / w.base_price[i]
        reach_by_tier, top_by_tier = self._tier_weights(i, day, promo)
        exponent = w.elasticity[i] * w.tier_elasticity_multiplier
        moved = factor[:, None] ** exponent[None, :]
        if (top_by_tier * moved).max() < 1.0:  # nobody's chance is capped: sum by tier
            expected_carts = moved @ reach_by_tier
        else:
            expected_carts = self._capped_carts(i, day, promo, factor)
        units = (
            views * item_share * expected_carts
            * b.purchase_given_cart * (1 + b.extra_quantity_mean)
        )  # fmt: skip
        return float(units[0]) if np.ndim(price) == 0 else units.reshape(np.shape(price))

    def _base_cart(self, i: int, day: int, promo: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per shopper: reach of item ``i``'s category and add-to-cart chance at base price."""
        w, b = self.world, self.cfg.behaviour
        user_share, _ = self._view_rate(day)
        reach = user_share * w.category_preference[:, w.item_category[i]]
        base = b.cart_rate * np.exp(b.taste_weight * (w.taste @ w.item_embedding[i]))
        if promo:
            base = base * w.tier_promo_lift[w.user_tier]
        return reach, base

    def _tier_weights(self, i: int, day: int, promo: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per tier: reach-weighted add-to-cart chance at base price, and its largest
        single chance; cached by item, promotion and who had signed up by ``day``."""
        signed_up = int(np.searchsorted(self._signups, day, side="right"))
        key = (i, signed_up, promo)
        if key not in self._tier_cache:
            reach, base = self._base_cart(i, day, promo)
            tiers = len(self.world.tier_names)
            by_tier = np.bincount(self.world.user_tier, weights=reach * base, minlength=tiers)
            top = np.zeros(tiers)
            np.maximum.at(top, self.world.user_tier, base)
            self._tier_cache[key] = (by_tier, top)
        return self._tier_cache[key]

    def _capped_carts(self, i: int, day: int, promo: bool, factor: np.ndarray) -> np.ndarray:
        """Expected carts per view when some shoppers' chances reach 1 (exact, slow)."""
        w = self.world
        reach, base = self._base_cart(i, day, promo)
        exponent = w.elasticity[i] * w.tier_elasticity_multiplier[w.user_tier]
        return np.minimum(base * factor[:, None] ** exponent, 1.0) @ reach

    def user_index(self, user_id: str) -> int:
        """Position of ``user_id`` in the world arrays."""
        if not hasattr(self, "_users"):
            self._users = {user: k for k, user in enumerate(self.world.user_ids)}
        try:
            return self._users[user_id]
        except KeyError:
            raise KeyError(f"shopper {user_id!r} is not in the simulated world") from None

    def cart_probability(
        self,
        user_id: str,
        item_ids: list[str],
        prices: np.ndarray | None = None,
        promo: np.ndarray | None = None,
    ) -> np.ndarray:
        """Chance that ``user_id`` adds each item to the cart when viewing it at ``prices``
        (default: base prices), by the choice model that generated the events.

        Args:
            user_id: A simulated shopper.
            item_ids: Simulated items.
            prices: Price shown per item.
            promo: Whether each item is shown as on promotion.
        """
        w, b = self.world, self.cfg.behaviour
        u = self.user_index(user_id)
        items = np.array([self.item_index(i) for i in item_ids], dtype=np.int64)
        shown = w.base_price[items] if prices is None else np.asarray(prices, float)
        tier = w.user_tier[u]
        affinity = w.item_embedding[items] @ w.taste[u]
        p_cart = (
            b.cart_rate
            * np.exp(b.taste_weight * affinity)
            * (shown / w.base_price[items])
            ** (w.elasticity[items] * w.tier_elasticity_multiplier[tier])
            * (np.where(promo, w.tier_promo_lift[tier], 1.0) if promo is not None else 1.0)
        )
        return np.minimum(p_cart, 1.0)

    def planned_daily_units(self) -> np.ndarray:
        """A rough per-item daily demand at base price: what the shop plans stock with."""
        w, b = self.world, self.cfg.behaviour
        user_share, views = self._view_rate(0)
        category_reach = user_share @ w.category_preference
        in_category = np.bincount(w.item_category, weights=w.popularity)
        share = w.popularity / in_category[w.item_category] * category_reach[w.item_category]
        mean_cart = b.cart_rate * np.exp(b.taste_weight * 0.4)
        return views * share * mean_cart * b.purchase_given_cart * (1 + b.extra_quantity_mean)

    # --- tables -------------------------------------------------------------------------
    def items_frame(self) -> pl.DataFrame:
        """Per-item truth: category, prices, cost, popularity, the true elasticity and
        the probability that a purchase at the base price is returned."""
        w = self.world
        at_base = return_probability(self.cfg, w, np.arange(len(w.item_ids)), w.base_price)
        return pl.DataFrame(
            {
                "item_id": w.item_ids,
                "category": w.category_names[w.item_category],
                "base_price": w.base_price,
                "unit_cost": w.unit_cost,
                "popularity": w.popularity,
                "elasticity": w.elasticity,
                "category_elasticity": w.category_elasticity[w.item_category],
                "created_day": w.item_created_day,
                "price_test": w.item_price_test,
                "return_rate": at_base if self.cfg.returns.enabled else np.zeros(len(w.item_ids)),
            }
        )

    def users_frame(self) -> pl.DataFrame:
        """Per-shopper truth: price-sensitivity tier, activity and sign-up day."""
        w = self.world
        return pl.DataFrame(
            {
                "user_id": w.user_ids,
                "tier": w.tier_names[w.user_tier],
                "activity": w.activity,
                "signup_day": w.user_signup_day,
            }
        )
