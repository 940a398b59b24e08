"""Events pushed through the push source are readable online at once, merged in order."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import polars as pl
import pytest

from features.config import RecentActivityConfig
from features.online import OnlineFeatures
from features.realtime import RecentActivity


def _events(user: str, session: str, rows: list[tuple[str, str]]) -> pl.DataFrame:
    now = dt.datetime.now(dt.UTC)
    return pl.DataFrame(
        {
            "user_id": [user] * len(rows),
            "session_id": [session] * len(rows),
            "item_id": [item for item, _ in rows],
            "event_type": [kind for _, kind in rows],
            "timestamp": [now + dt.timedelta(seconds=k) for k in range(len(rows))],
        }
    )


@pytest.fixture(scope="module")
def recent(store: Any) -> RecentActivity:
    return RecentActivity(store, RecentActivityConfig(last_n_items=3))


def test_pushed_event_is_readable_within_a_second(store: Any, recent: RecentActivity) -> None:
    reader = OnlineFeatures(store)
    started = time.perf_counter()
    recent.push(_events("rt-user-1", "rt-s1", [("i-new", "view")]))
    features, _ = reader.read_user("rt-user-1")
    elapsed = time.perf_counter() - started
    assert features["last_viewed_items"] == ["i-new"]
    assert elapsed < 1.0


def test_merge_keeps_newest_first_and_counts_the_session(recent: RecentActivity) -> None:
    recent.push(_events("rt-user-2", "s1", [("a", "view"), ("b", "view"), ("a", "add_to_cart")]))
    recent.push(_events("rt-user-2", "s1", [("c", "view"), ("a", "view"), ("d", "view")]))
    state = recent.current(["rt-user-2"])["rt-user-2"]
    assert state["last_viewed_items"] == ["d", "a", "c"], "newest first, no repeats, at most 3"
    assert state["last_carted_items"] == ["a"]
    assert (state["session_views"], state["session_carts"]) == (5, 1)
    recent.push(_events("rt-user-2", "s2", [("e", "view")]))
    state = recent.current(["rt-user-2"])["rt-user-2"]
    assert (state["session_id"], state["session_views"], state["session_carts"]) == ("s2", 1, 0)
    assert state["last_viewed_items"] == ["e", "d", "a"], "history outlives the session"
