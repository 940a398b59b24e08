"""Recent activity in memory: what a worker took itself at once, what other workers
took by tailing the shared event store, by shopper and by anonymous session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from serving.activity import RecentActivity
from serving.events import EventStore, validate_events
from storefront.clock import FrozenClock

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


def _events(*rows: tuple[str, str | None, str, str, dt.datetime]) -> list[dict]:
    return [
        {"event_id": event_id, "user_id": user or f"anonymous-{session}", "session_id": session,
         "item_id": item, "event_type": kind, "timestamp": at, "quantity": 1, "unit_price": 2.0}
        for event_id, user, session, item, kind, at in rows
    ]  # fmt: skip


def _store(tmp_path: Path, clock: FrozenClock) -> EventStore:
    return EventStore(f"sqlite:///{tmp_path / 'events.db'}", clock=clock)


def _append(store: EventStore, clock: FrozenClock, events: list[dict]) -> object:
    frame = validate_events(events, None, clock.now(), dt.timedelta(minutes=5))
    return store.append(frame).frame


def test_a_workers_own_events_count_at_once(tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    store = _store(tmp_path, clock)
    activity = RecentActivity(store, now=clock.now)
    stored = _append(store, clock, _events(
        ("e1", "u1", "s1", "i1", "view", NOW - dt.timedelta(minutes=3)),
        ("e2", "u1", "s1", "i2", "purchase", NOW - dt.timedelta(minutes=2)),
        ("e3", None, "s2", "i3", "view", NOW - dt.timedelta(minutes=1)),
    ))  # fmt: skip
    activity.record_frame(stored)
    assert activity.recent("u1") == ["i2", "i1"], "newest first"
    assert activity.recent(None, "s2") == ["i3"], "an anonymous session by its id"
    assert activity.recent("someone-else", "s1") == ["i2", "i1"], "unknown shopper: the session"
    since = (NOW - dt.timedelta(days=1)).timestamp()
    assert activity.purchases("u1", since) == ["i2"]
    assert activity.purchases("u1", NOW.timestamp()) == [], "bought before the cut-off"


def test_other_workers_events_arrive_by_tailing_the_store(tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    store = _store(tmp_path, clock)
    earlier = _events(("e0", "u9", "s9", "i9", "purchase", NOW - dt.timedelta(hours=1)))
    _append(store, clock, earlier)
    mine = RecentActivity(store, now=clock.now)
    other = RecentActivity(_store(tmp_path, clock), now=clock.now)
    assert other.poll() == 1 and other.purchases("u9", 0) == ["i9"], "read at start"
    clock.advance(seconds=5)
    stored = _append(store, clock, _events(("e1", "u1", "s1", "i1", "purchase", clock.now())))
    mine.record_frame(stored)
    assert other.recent("u1") == []
    assert other.poll() == 1 and other.recent("u1") == ["i1"]
    assert other.poll() == 0, "events read once"
    assert mine.poll() == 1 and mine.purchases("u1", 0) == ["i1"], "its own not counted twice"
