"""The served lists and raw ids the audit reads, from a real experiment store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from audit.sources import served_lists
from experiments.records import Exposure
from experiments.store import ExperimentStore

T = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def test_recommendation_lists_once_per_answer_without_price_exposures(tmp_path: Path) -> None:
    store = ExperimentStore(f"sqlite:///{tmp_path / 'experiments.db'}")
    assert served_lists(store.engine).is_empty()
    store.log_exposures([
        Exposure("r1", "e1", "a", "u1", "home_feed", T, items=["x", "y"]),
        Exposure("r1", "e2", "b", "u1", "home_feed", T, items=["x", "y"]),  # two layers
        Exposure("r2", "e1", "a", "u2", "similar_items", T + dt.timedelta(days=2), items=["z"]),
        Exposure("p/x", "e3", "a", "x", "pricing", T, items=["x"], prices=[9.0]),
    ])  # fmt: skip
    lists = served_lists(store.engine).sort("request_id")
    assert lists["request_id"].to_list() == ["r1", "r2"]
    assert lists["items"].to_list() == [["x", "y"], ["z"]]
    assert lists["served_at"].to_list() == [T, T + dt.timedelta(days=2)]
    day = served_lists(store.engine, T + dt.timedelta(days=1), T + dt.timedelta(days=3))
    assert day["request_id"].to_list() == ["r2"]
