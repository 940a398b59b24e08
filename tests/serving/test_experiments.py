"""The service's A/B side: sticky variants, exposures as served, outcomes attributed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from experiments.config import Experiment
from experiments.store import ExperimentStore
from serving.experiments import Experiments
from serving.security import Pseudonymiser

NOW = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)


def _experiment(name: str, surface: str, unit: str, **variant_a: object) -> Experiment:
    return Experiment.model_validate(
        {
            "name": name, "surface": surface, "unit": unit,
            "variants": [{"name": "a", "weight": 0.5, **variant_a},
                         {"name": "b", "weight": 0.5, "strategy": "ranker"}],
            "start": NOW - dt.timedelta(days=1), "stop": NOW + dt.timedelta(days=7),
            "primary_metric": "conversion" if surface != "pricing" else "profit_per_unit",
        }
    )  # fmt: skip


@pytest.fixture()
def hooks(tmp_path: Path) -> Experiments:
    store = ExperimentStore(f"sqlite:///{tmp_path / 'experiments.db'}")
    store.create(_experiment("feed", "home_feed", "shopper", strategy="popularity"), NOW)
    store.create(_experiment("prices", "pricing", "item", pricing_policy="current"), NOW)
    return Experiments(store, Pseudonymiser("key"), refresh_seconds=0.0,
                       unit_costs={"i1": 4.0}, flush_seconds=60.0)  # fmt: skip


def test_variants_are_sticky_and_say_what_they_change(hooks: Experiments) -> None:
    seen = {hooks.for_shopper("home", f"u{k}", None, NOW).names()["feed"] for k in range(200)}
    assert seen == {"a", "b"}
    first = hooks.for_shopper("home", "u7", "s1", NOW)
    again = hooks.for_shopper("home", "u7", "s2", NOW + dt.timedelta(hours=1))
    assert first.names() == again.names()
    expected = "popularity" if first.names()["feed"] == "a" else "ranker"
    assert first.setting("strategy") == expected
    assert hooks.for_shopper("search", "u7", None, NOW).names() == {}, "no experiment there"
    assert hooks.for_shopper("home", "u7", None, NOW + dt.timedelta(days=30)).names() == {}


def test_pricing_is_assigned_per_item_never_per_shopper(hooks: Experiments) -> None:
    served = hooks.for_items([f"i{k}" for k in range(100)], NOW)
    assert {s.names()["prices"] for s in served.values()} == {"a", "b"}
    assert all("feed" not in s.names() for s in served.values())


def test_exposures_and_outcomes_are_attributed_with_pseudonymous_units(hooks: Experiments) -> None:
    served = hooks.for_shopper("home", "alice", "s1", NOW)
    hooks.log_recommendation("r1", "home_feed", served, ["i1", "i2"], NOW, 12.5, False)
    hooks.flush()
    events = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "user_id": ["alice"] * 3,
            "session_id": ["s1"] * 3,
            "item_id": ["i1", "i1", "i1"],
            "event_type": ["view", "add_to_cart", "purchase"],
            "timestamp": [NOW + dt.timedelta(minutes=m) for m in (1, 2, 3)],
            "quantity": [1, 1, 2],
            "unit_price": [10.0, 10.0, 10.0],
            "request_id": ["r1", "r1", None],
        }
    )
    hooks.log_events(events)
    hooks.log_events(events)  # a retried batch is not counted twice
    units = hooks.store.attributed("feed").units()
    assert units.height == 1
    row = units.row(0, named=True)
    assert row["unit_id"] != "alice" and len(row["unit_id"]) == 16
    assert (row["clicks"], row["add_to_carts"], row["purchases"]) == (1, 1, 1)
    assert row["revenue"] == 20.0 and row["profit"] == pytest.approx(20.0 - 2 * 4.0)
    assert row["latency_sum"] == 12.5


def test_price_exposures_are_one_per_item(hooks: Experiments) -> None:
    items = [f"i{k}" for k in range(10)]
    served = hooks.for_items(items, NOW)
    hooks.log_prices("r9", served, {i: 9.99 for i in items}, NOW)
    assert hooks.store.attributed("prices").meta.height == 0, "batched off the request path"
    hooks.flush()
    assert hooks.store.attributed("prices").meta.height == 10


def test_no_store_means_no_experiments(tmp_path: Path) -> None:
    hooks = Experiments(None, Pseudonymiser("key"))
    assert hooks.for_shopper("home", "u1", None, NOW).names() == {}
    hooks.log_events(pl.DataFrame())  # nothing to do, nothing raised
