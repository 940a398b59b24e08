"""Fixtures of the serving tests: a small trained shop, built once, and the real HTTP
server (``storefront serve``, BentoML) in a subprocess."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable, Iterator

import polars as pl
import pytest

from features.build import build_features
from features.config import FeatureConfig
from simulator import TRUTH_FILE, SimulationConfig, simulate
from storefront.feeds import write_feeds
from tests.serving.client import Server, TrainedShop
from training.recommender.config import RankerConfig, RecommenderConfig, SequentialConfig
from training.recommender.pipeline import train_recommender


@pytest.fixture(scope="session")
def trained_shop(
    make_config: Callable[..., SimulationConfig],
    mlflow_store: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> TrainedShop:
    """50 days, 3,000 shoppers, 300 items; trained in the quick configuration (~40 s)."""
    from training.demand.forecast import write_forecasts
    from training.pricing.actions import publish

    data_dir = tmp_path_factory.mktemp("serving") / "feeds"
    sim = simulate(make_config(days=50))
    write_feeds(sim.feeds, data_dir, side_files={TRUTH_FILE: sim.truth.save})
    build_features(data_dir, FeatureConfig())
    cfg = RecommenderConfig(
        sequential=SequentialConfig(dim=16, layers=1, epochs=1, max_seconds=20),
        ranker=RankerConfig(training_users=1500, rounds=60),
    )
    report = train_recommender(data_dir, cfg)
    events = sim.feeds.events
    items = sim.feeds.catalog["item_id"].to_list()
    published = items[0]
    prices = pl.DataFrame(
        {"item_id": [published], "price": [9.99], "was_price": [8.49], "reasons": [["max_change"]]}
    )
    now = dt.datetime.now(dt.UTC)
    publish(data_dir, prices, "p-test", "tester", now)
    pending = pl.DataFrame(
        {"item_id": [items[-1]], "price": [7.77], "was_price": [7.0], "reasons": [[]]},
        schema_overrides={"reasons": pl.List(pl.String)},
    )
    publish(data_dir, pending, "p-later", "tester", now, valid_from=now + dt.timedelta(days=3))
    start = dt.date(2025, 8, 1)
    forecasts = pl.DataFrame(
        {
            "item_id": [i for i in items[:5] for _ in range(14)],
            "location_id": "online",
            "period_start": [start + dt.timedelta(days=s) for _ in range(5) for s in range(14)],
            "step": [s + 1 for _ in range(5) for s in range(14)],
            "forecast": 2.0,
            "p10": 1.0,
            "p50": 2.0,
            "p90": 3.5,
        }
    )
    write_forecasts(forecasts, data_dir)
    buyers = events.filter(pl.col("event_type") == "purchase")["user_id"]
    return TrainedShop(
        data_dir=data_dir,
        tracking_uri=mlflow_store,
        run_id=report.run_id,
        version=str(report.model_version),
        known_user=str(buyers[-1]),
        known_items=items,
        published_item=published,
        pending_item=items[-1],
    )


@pytest.fixture(scope="session")
def server(trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service on a free loopback port, for the whole session."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    running = Server(trained_shop, log).start()
    try:
        yield running
    finally:
        running.kill(signal.SIGTERM)
