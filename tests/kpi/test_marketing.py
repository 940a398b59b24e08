"""Marketing effect: promotion response by tier, running experiments' verdicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from experiments.config import Experiment
from experiments.store import ExperimentStore
from features.config import UserFeatureConfig
from kpi.marketing import promotion_by_tier, running_experiments
from kpi.periods import Period
from kpi.shoppers import snapshots
from simulator import Simulation

FEED_TEST = {
    "name": "feed_test",
    "surface": "home_feed",
    "unit": "shopper",
    "variants": [
        {"name": "control", "weight": 0.5, "strategy": "popularity"},
        {"name": "treatment", "weight": 0.5, "model_alias": "champion"},
    ],
    "start": "2026-12-01T00:00:00Z",
    "primary_metric": "conversion",
}


def test_running_experiments_carry_their_reports_verdict(tmp_path: Path) -> None:
    store = ExperimentStore(f"sqlite:///{tmp_path / 'experiments.db'}")
    store.create(Experiment.model_validate(FEED_TEST))
    store.create(Experiment.model_validate(FEED_TEST | {"name": "old_test", "layer": "other"}))
    store.stop("old_test")
    found = running_experiments(store)
    assert [e["name"] for e in found] == ["feed_test"]
    assert found[0]["decision"] == "keep_running" and found[0]["units"] == 0
    assert found[0]["verdict"].startswith("verdict: keep running")
    assert running_experiments(None) == []


def test_promotion_response_by_tier_needs_views_and_a_prices_feed(small_sim: Simulation) -> None:
    feeds = small_sim.feeds
    last = feeds.events["timestamp"].max().date()
    period = Period(last - dt.timedelta(days=27), last)
    snaps = snapshots(feeds.events, feeds.catalog, [last], UserFeatureConfig())
    table = promotion_by_tier(feeds.events, feeds.prices, snaps, period)
    assert table["tier"].to_list() == ["budget", "standard", "premium"]
    assert table["promoted_views"].sum() > 0 and table["regular_views"].sum() > 0
    budget = table.row(0, named=True)
    assert budget["ci_low"] <= budget["response"] <= budget["ci_high"]
    assert promotion_by_tier(feeds.events, None, snaps, period).is_empty()
    views_gone = feeds.events.filter(pl.col("event_type") != "view")
    assert promotion_by_tier(views_gone, feeds.prices, snaps, period).is_empty()
