"""Exposure fairness on a tiny catalogue whose shares, Gini and popularity bias are
worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from audit.exposure import exposure_fairness, gini

T = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
UTC = pl.Datetime("us", "UTC")
CATALOG = pl.DataFrame(
    {
        "item_id": ["a", "b", "c", "d"],
        "category": ["shoes", "shoes", "hats", "hats"],
        "brand": ["x", "y", "x", None],
        "created_at": [T - dt.timedelta(days=400)] * 3 + [T - dt.timedelta(days=3)],
    },
    schema_overrides={"created_at": UTC},
)
LISTS = pl.DataFrame(
    {
        "request_id": ["r1", "r2", "r3", "r3"],  # r3 logged by two experiments: once
        "served_at": [T, T, T + dt.timedelta(days=1), T + dt.timedelta(days=1)],
        "items": [["a", "b"], ["a", "c"], ["a", "d"], ["a", "d"]],
    },
    schema_overrides={"served_at": UTC},
)
PURCHASES = pl.DataFrame(
    {"item_id": ["c", "d"], "quantity": [3, 1], "timestamp": [T, T]},
    schema_overrides={"timestamp": UTC},
)
POPULARITY = pl.DataFrame({"item_id": ["a", "b", "c"], "popularity": [10, 2, 4]})


def test_gini_is_zero_for_equal_and_near_one_for_one_item() -> None:
    assert gini([3.0, 3.0, 3.0]) == 0.0
    assert gini([0.0, 0.0, 0.0, 4.0]) == pytest.approx(0.75)
    assert gini([0.0, 0.0]) is None


def test_shares_gini_coverage_and_popularity_bias() -> None:
    audit = exposure_fairness(LISTS, CATALOG, PURCHASES, POPULARITY)
    assert (audit.lists, audit.impressions, audit.catalogue) == (3, 6, 4)
    assert audit.coverage == 1.0
    # exposures a:3 b:1 c:1 d:1 → sorted 1,1,1,3: Σ(2k−5)x = −3−1+1+9 = 6; 6 / (4·6)
    assert audit.gini == pytest.approx(0.25)
    # ARP: (10+2)/2, (10+4)/2, (10+0)/2 → (6+7+5)/3 = 6; bought: (3·4 + 1·0)/4 = 3
    assert audit.arp == pytest.approx(6.0)
    assert audit.profile_popularity == pytest.approx(3.0)
    assert audit.popularity_lift == pytest.approx(1.0)
    cats = {r["group"]: r for r in audit.by_category.to_dicts()}
    assert cats["shoes"]["exposure_share"] == pytest.approx(4 / 6)
    assert cats["shoes"]["purchase_share"] == 0.0 and cats["shoes"]["ratio"] is None
    assert cats["hats"]["ratio"] == pytest.approx((2 / 6) / 1.0)
    brands = {r["group"]: r["exposure_share"] for r in audit.by_brand.to_dicts()}
    assert brands == pytest.approx({"x": 4 / 6, "y": 1 / 6, "(none)": 1 / 6})
    new = {r["group"]: r for r in audit.new_items.to_dicts()}
    assert new["new"]["exposure_share"] == pytest.approx(1 / 6)
    assert new["new"]["purchase_share"] == pytest.approx(1 / 4)
    daily = audit.daily.to_dicts()
    assert [d["lists"] for d in daily] == [2, 1]
    assert daily[1]["coverage"] == 0.5 and daily[1]["arp"] == pytest.approx(5.0)


def test_no_lists_gives_empty_measures() -> None:
    audit = exposure_fairness(LISTS.clear(), CATALOG, PURCHASES.clear(), POPULARITY)
    assert audit.lists == 0 and audit.gini is None and audit.arp is None
    assert audit.coverage == 0.0 and audit.daily.is_empty()
