"""Promotion response: the stratified risk ratio and the tiers it is reported by."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from training.elasticity.promotion import mantel_haenszel, shopper_tiers, view_outcomes

T0 = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def test_mantel_haenszel_pools_strata_with_a_common_ratio() -> None:
    # a popular item viewed mostly on promotion and a rare one viewed mostly off it:
    # crude rates mix the items, the stratified ratio stays 2
    strata = pl.DataFrame({"a": [400, 2], "n1": [1000, 100], "b": [20, 10], "n0": [100, 1000]})
    ratio, low, high = mantel_haenszel(strata, 0.95)
    assert ratio == pytest.approx(2.0, rel=1e-9)
    assert low < 2.0 < high
    crude = (400 + 2) / 1100 / ((20 + 10) / 1100)
    assert crude > 10, "the crude ratio is confounded by the item"


def test_interval_narrows_with_more_views() -> None:
    small = pl.DataFrame({"a": [20], "n1": [100], "b": [10], "n0": [100]})
    large = small.select(pl.all() * 100)
    _, lo_s, hi_s = mantel_haenszel(small, 0.95)
    _, lo_l, hi_l = mantel_haenszel(large, 0.95)
    assert hi_l - lo_l < (hi_s - lo_s) / 5


def test_tiers_split_shoppers_in_thirds_by_what_they_pay() -> None:
    rng = np.random.default_rng(0)
    users = pl.DataFrame({"user_id": [f"u{k}" for k in range(300)],
                          "event_timestamp": [T0] * 300,
                          "paid_to_base_ratio": rng.uniform(0.6, 1.0, 300)})  # fmt: skip
    tiers = shopper_tiers(users).join(users, on="user_id")
    counts = dict(tiers.group_by("tier").len().iter_rows())
    assert all(95 <= counts[t] <= 105 for t in ("budget", "standard", "premium"))
    means = dict(tiers.group_by("tier").agg(pl.col("paid_to_base_ratio").mean()).iter_rows())
    assert means["budget"] < means["standard"] < means["premium"]


def test_a_view_counts_once_per_session_with_the_promotion_in_force() -> None:
    events = pl.DataFrame(
        {
            "user_id": ["u"] * 4,
            "session_id": ["s1", "s1", "s1", "s2"],
            "item_id": ["x", "x", "x", "x"],
            "event_type": ["view", "view", "add_to_cart", "view"],
            "timestamp": [T0, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2),
                          T0 + dt.timedelta(days=2)],
        }
    )  # fmt: skip
    prices = pl.DataFrame({"item_id": ["x", "x"], "valid_from": [T0 - dt.timedelta(days=1),
                           T0 + dt.timedelta(days=1)], "promo": [True, False]})  # fmt: skip
    outcomes = view_outcomes(events, prices).sort("promo")
    assert outcomes.select("promo", "carted").rows() == [(False, False), (True, True)]
