"""The pricing jobs the desk adds: the latest proposal, the diff of an approval against
the prices in force, and approving a selection of a proposal's items."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from features.build import build_features
from features.config import FeatureConfig
from jobs import pricing
from storefront.feeds import read_feeds
from training.demand.forecast import write_forecasts
from training.elasticity.config import ElasticityConfig
from training.elasticity.pipeline import train_elasticity
from training.pricing.inputs import list_prices
from training.pricing.ledger import read_ledger

pytestmark = pytest.mark.slow


def _forecasts(items: list[str], start: dt.date) -> pl.DataFrame:
    days = [start + dt.timedelta(days=s) for s in range(7)]
    return pl.DataFrame(
        {
            "item_id": [i for i in items for _ in days],
            "location_id": "online",
            "period_start": days * len(items),
            "step": list(range(1, 8)) * len(items),
            "forecast": 2.0,
            "p10": 1.0,
            "p50": 2.0,
            "p90": 3.5,
        }
    )


@pytest.fixture()
def proposed(feed_dir: Path) -> pricing.ProposalJob:
    build_features(feed_dir, FeatureConfig())
    items = read_feeds(feed_dir, required=("catalog",)).catalog["item_id"].to_list()[:4]
    write_forecasts(_forecasts(items, dt.date(2025, 8, 1)), feed_dir)
    train_elasticity(feed_dir, ElasticityConfig(rounds=30))
    return pricing.propose(feed_dir)


def test_approving_a_selection_publishes_only_those_items(
    feed_dir: Path, proposed: pricing.ProposalJob
) -> None:
    pid, table = proposed.proposal_id, proposed.proposal.table
    assert pricing.latest_proposal(feed_dir).proposal_id == pid
    diff = pricing.approval_diff(pid, feed_dir)
    listed = dict(list_prices(feed_dir, dt.datetime.now(dt.UTC)).iter_rows())
    assert diff.height == table.height and diff["in_force_by"].is_null().all()
    assert all(listed[r["item_id"]] == r["in_force"] for r in diff.iter_rows(named=True))
    chosen = table["item_id"][0]
    with pytest.raises(ValueError, match="items: nope"):
        pricing.approve_items(pid, ["nope"], feed_dir, by="lead")
    assert read_ledger(feed_dir).is_empty(), "a refusal writes nothing"

    done = pricing.approve_items(pid, [chosen], feed_dir, by="lead")
    entries = read_ledger(feed_dir)
    assert entries["item_id"].to_list() == [chosen] and done.entries.height == 1
    assert entries["price"][0] == table.filter(pl.col("item_id") == chosen)["price"][0]
    assert pricing.latest_proposal(feed_dir).meta["approved_items"] == 1
    after = pricing.approval_diff(pid, feed_dir, [chosen]).row(0, named=True)
    assert after["in_force_by"] == "publish by lead" and abs(after["change"]) < 1e-12
    with pytest.raises(ValueError, match="already published"):
        pricing.approve_items(pid, [chosen], feed_dir, by="lead")
    with pytest.raises(ValueError, match="proposal"):
        pricing.reject(pid, "too late", feed_dir, by="lead")
