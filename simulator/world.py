"""The simulated shop's fixed truth: items, shoppers, tastes, elasticities and calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np

from simulator.config import SimulationConfig

HOURLY_TRAFFIC = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 2.8, 3.0,
     3.2, 3.1, 3.0, 3.0, 3.1, 3.4, 3.9, 4.4, 4.6, 4.0, 3.0, 1.8]
)  # fmt: skip
"""Relative sessions by hour of day (UTC), evening peak."""


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@dataclass(frozen=True)
class World:
    """Arrays describing the shop; item ``i`` and user ``u`` are positions in them.

    Days are counted from the simulation's start date (day 0); negative days lie before.
    """

    # categories
    category_names: np.ndarray  # (C,) str
    category_centroids: np.ndarray  # (C, d)
    category_elasticity: np.ndarray  # (C,)
    # items
    item_ids: np.ndarray  # (I,) str
    item_category: np.ndarray  # (I,) int
    base_price: np.ndarray  # (I,)
    unit_cost: np.ndarray  # (I,)
    popularity: np.ndarray  # (I,) relative view weight within the category
    elasticity: np.ndarray  # (I,) true own-price elasticity (population, at any price)
    item_embedding: np.ndarray  # (I, d)
    item_created_day: np.ndarray  # (I,) int
    item_price_test: np.ndarray  # (I,) bool: price set by a randomised test, not the policy
    # shoppers
    user_ids: np.ndarray  # (U,) str
    user_tier: np.ndarray  # (U,) int index into tier_names
    taste: np.ndarray  # (U, d)
    activity: np.ndarray  # (U,) relative session rate
    user_signup_day: np.ndarray  # (U,) int
    category_preference: np.ndarray  # (U, C) P(category | shopper), rows sum to 1
    # tiers
    tier_names: np.ndarray  # (K,) str
    tier_share: np.ndarray  # (K,)
    tier_elasticity_multiplier: np.ndarray  # (K,)
    tier_promo_lift: np.ndarray  # (K,)
    # calendar
    promo_days: np.ndarray  # (P,) int, site-wide promotion days

    def as_arrays(self) -> dict[str, np.ndarray]:
        """All fields by name, for saving."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def traffic_multiplier(
    cfg: SimulationConfig, days: np.ndarray, promo_days: np.ndarray
) -> np.ndarray:
    """Relative session volume on each day: weekly profile × yearly wave × promotion days."""
    dates = np.datetime64(cfg.start, "D") + days.astype("timedelta64[D]")
    weekday = (dates.astype("int64") - 4) % 7  # 1970-01-01 was a Thursday; Monday = 0
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype("int64") + 1
    s = cfg.seasonality
    weekly = np.asarray(s.weekly)[weekday] / np.mean(s.weekly)
    yearly = 1 + s.yearly_amplitude * np.cos(2 * np.pi * (day_of_year - s.yearly_peak_day) / 365.25)
    promo = np.where(np.isin(days, promo_days), s.promo_traffic_lift, 1.0)
    return weekly * yearly * promo


def day_index(cfg: SimulationConfig, date: dt.date | str) -> int:
    """Day number of ``date`` relative to the simulation's start."""
    return (dt.date.fromisoformat(date) if isinstance(date, str) else date).toordinal() - (
        cfg.start.toordinal()
    )


def _items(cfg: SimulationConfig, rng: np.random.Generator, centroids: np.ndarray) -> dict:
    c = cfg.catalog
    n, n_cat = c.n_items, c.n_categories
    # every category gets at least one item that exists before the start
    category = np.concatenate([np.arange(n_cat), rng.integers(0, n_cat, n - n_cat)])
    low, high = c.elasticity_range
    cat_elasticity = rng.permutation(np.linspace(low, high, n_cat))
    elasticity = np.clip(
        cat_elasticity[category] + rng.normal(0, c.item_elasticity_sd, n), low - 0.3, high + 0.2
    )
    cat_price = c.median_price * rng.lognormal(0, 0.8, n_cat)
    base_price = np.maximum(np.round(cat_price[category] * rng.lognormal(0, 0.3, n)) - 0.01, 0.99)
    noise = rng.normal(0, 0.6 / np.sqrt(c.taste_dim), (n, c.taste_dim))
    embedding = _unit_rows(centroids[category] + noise)
    created = -rng.integers(1, 730, n)
    new = rng.random(n) < c.new_item_share
    new[:n_cat] = False
    created[new] = rng.integers(0, cfg.days, new.sum())
    return {
        "category_elasticity": cat_elasticity,
        "item_ids": np.array([f"i{k:05d}" for k in rng.permutation(n)]),
        "item_category": category,
        "base_price": base_price,
        "unit_cost": np.round(base_price * rng.uniform(*c.unit_cost_share, n), 2),
        "popularity": rng.lognormal(0, c.popularity_sigma, n),
        "elasticity": elasticity,
        "item_embedding": embedding,
        "item_created_day": created,
        "item_price_test": rng.random(n) < cfg.pricing.test_share,
    }


def _users(cfg: SimulationConfig, rng: np.random.Generator, centroids: np.ndarray) -> dict:
    n, n_cat = cfg.n_users, cfg.catalog.n_categories
    favourites = rng.integers(0, n_cat, (n, 3))
    weights = rng.dirichlet(np.ones(3) * 0.7, n)
    taste = np.einsum("uk,ukd->ud", weights, centroids[favourites])
    taste = _unit_rows(taste + rng.normal(0, 0.5 / np.sqrt(taste.shape[1]), taste.shape))
    logits = cfg.behaviour.category_temperature * taste @ centroids.T
    preference = np.exp(logits - logits.max(axis=1, keepdims=True))
    shares = np.array([t.share for t in cfg.tiers])
    signup = -rng.integers(1, 365, n)
    new = rng.random(n) < cfg.new_user_share
    signup[new] = rng.integers(0, cfg.days, new.sum())
    return {
        "user_ids": np.array([f"u{k:06d}" for k in range(n)]),
        "user_tier": rng.choice(len(shares), n, p=shares),
        "taste": taste,
        "activity": rng.gamma(cfg.activity_shape, 1 / cfg.activity_shape, n),
        "user_signup_day": signup,
        "category_preference": preference / preference.sum(axis=1, keepdims=True),
    }


def build_world(cfg: SimulationConfig, rng: np.random.Generator) -> World:
    """Draw the shop's fixed truth from ``rng`` as ``cfg`` describes it."""
    n_cat, dim = cfg.catalog.n_categories, cfg.catalog.taste_dim
    centroids = _unit_rows(rng.normal(size=(n_cat, dim)))
    s = cfg.seasonality
    promo_days = np.sort(rng.choice(cfg.days, min(s.promo_days, cfg.days), replace=False))
    return World(
        category_names=np.array([f"category_{k:02d}" for k in range(n_cat)]),
        category_centroids=centroids,
        **_items(cfg, rng, centroids),
        **_users(cfg, rng, centroids),
        tier_names=np.array([t.name for t in cfg.tiers]),
        tier_share=np.array([t.share for t in cfg.tiers]),
        tier_elasticity_multiplier=np.array([t.elasticity_multiplier for t in cfg.tiers]),
        tier_promo_lift=np.array([t.promo_lift for t in cfg.tiers]),
        promo_days=promo_days,
    )
