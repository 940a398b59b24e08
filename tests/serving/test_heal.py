"""The service heals itself: started while the online store is missing, it answers
degraded, and once the store is back its answers stop saying so, without a restart or
a reload; events stored but never pushed (a crash between commit and push) are pushed
in the background and marked so, and a replayed batch says ``pushed`` only when its
events really are."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from features.config import store_dir
from serving.events import EventStore
from storefront.clock import FrozenClock
from storefront.feeds.forms import polars_schema
from storefront.feeds.schemas import EVENTS
from storefront.workspace import Workspace
from tests.serving.client import ADMIN_KEY, Server, TrainedShop, call

pytestmark = pytest.mark.slow
HEAL_WITHIN_SECONDS = 90.0
CRASHED = 100


def _crashed_events(shop: TrainedShop) -> pl.DataFrame:
    """Events as a crash between the commit and the push leaves them (``pushed = 0``)."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {"event_id": f"crash-{uuid.uuid4().hex}", "user_id": shop.known_user,
         "session_id": "s-heal", "item_id": shop.known_items[i % 20], "event_type": "view",
         "timestamp": now - dt.timedelta(seconds=i), "quantity": 1, "unit_price": 5.0,
         "request_id": None}
        for i in range(CRASHED)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=polars_schema(EVENTS))


@pytest.fixture(scope="module")
def healing(
    trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path, Path, EventStore, pl.DataFrame]]:
    """A copy of the shop with its online store moved away and 100 crashed events, and
    the service started on it."""
    folder = tmp_path_factory.mktemp("heal")
    copy = folder / "shop"
    shutil.copytree(trained_shop.data_dir, copy)
    shop = dataclasses.replace(trained_shop, data_dir=copy)
    online = store_dir(copy) / "online_store.db"
    away = folder / "online_store.db.away"
    online.rename(away)
    ws = Workspace(copy)
    hour_ago = FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    events = EventStore(f"sqlite:///{ws.event_log}", clock=hour_ago)
    crashed = _crashed_events(shop)
    events.append(crashed)
    server = Server(shop, folder / "server.log").start()
    try:
        yield server, online, away, events, crashed
    finally:
        server.kill()
        events.close()


def _recommend(server: Server, user: str) -> dict:
    status, answer = call(
        server.base, "/recommend", {"user_id": user, "k": 5, "context": {"page_type": "home"}}
    )
    assert status == 200, answer
    return answer


def test_the_service_heals_when_the_store_comes_back(
    healing: tuple[Server, Path, Path, EventStore, pl.DataFrame], trained_shop: TrainedShop
) -> None:
    server, online, away, events, crashed = healing
    user = trained_shop.known_user

    answer = _recommend(server, user)
    assert answer["degraded"] and "feature_store_unavailable" in answer["degraded_reasons"]
    status, reloaded = call(server.base, "/admin/reload", {}, headers={"x-api-key": ADMIN_KEY})
    assert status == 200, reloaded
    assert reloaded["degraded"], "reload reports the state it built: the store is missing"
    assert "feature_store_unavailable" in reloaded["degraded_reasons"]
    assert _recommend(server, user)["degraded"]

    replay = [
        {**row, "timestamp": row["timestamp"].isoformat()} for row in crashed.head(3).to_dicts()
    ]
    status, replayed = call(server.base, "/events", {"events": replay})
    assert status == 200, replayed
    assert replayed["duplicates"] == 3 and not replayed["pushed"], "the store is down"
    assert events.count(pushed=False) == CRASHED, "nothing pushed while the store is away"

    away.rename(online)  # the store is back: no restart, no reload
    deadline = time.monotonic() + HEAL_WITHIN_SECONDS
    while time.monotonic() < deadline:
        answer = _recommend(server, user)
        if not answer["degraded"]:
            break
        time.sleep(1)
    assert not answer["degraded"], answer["degraded_reasons"]
    assert answer["strategy"] == "reranked"

    while time.monotonic() < deadline and events.count(pushed=False):
        time.sleep(1)
    assert events.count(pushed=False) == 0, "the crashed events are pushed in the background"
    status, replayed = call(server.base, "/events", {"events": replay})
    assert status == 200 and replayed["duplicates"] == 3 and replayed["pushed"], replayed

    status, reloaded = call(server.base, "/admin/reload", {}, headers={"x-api-key": ADMIN_KEY})
    assert status == 200 and "feature_store_unavailable" not in reloaded["degraded_reasons"]


class _Online:
    """A stand-in for :class:`serving.online.LockedOnline`."""

    def __init__(self, path: Path | None = None, fails: bool = False) -> None:
        self.path, self.fails = path, fails
        self.identity = None if path is None else (path.stat().st_dev, path.stat().st_ino)

    def read_user(self, user_id: str) -> tuple[dict, bool]:
        if self.fails:
            raise RuntimeError("no such table")
        return {}, False


def test_the_healer_reopens_a_missing_or_replaced_store(tmp_path: Path) -> None:
    from serving.online import OnlineHealer
    from serving.reader import Features

    features = Features(None, retry_seconds=60.0)
    store = tmp_path / "online_store.db"
    opened: list[_Online] = []

    def open_store() -> _Online | None:
        if not store.exists():
            return None
        opened.append(_Online(store))
        return opened[-1]

    healed: list[int] = []
    healer = OnlineHealer(open_store, features, lambda: healed.append(1))
    assert healer.wanting() == "not open" and not healer.check() and features.online is None
    store.write_bytes(b"v1")
    assert healer.check() and features.online is opened[0] and healed == [1]
    assert healer.wanting() is None and healer.check() and len(opened) == 1, "no reopen"
    replacement = tmp_path / "new.db"
    replacement.write_bytes(b"v2")
    replacement.replace(store)  # the file put back: a new inode
    assert healer.wanting() == "its file was replaced"
    assert healer.check() and features.online is opened[1] and healed == [1, 1]
    store.unlink()
    assert healer.wanting() == "its file is missing"
    assert not healer.check() and features.online is None, "a vanished file is not read"

    features.online = _Online(fails=True)
    features.user("someone", [])  # the read fails: reads held off for 60 s
    store.write_bytes(b"v3")
    assert healer.wanting() == "a read failed"
    assert healer.check() and features.online is opened[2] and not features.failing


def test_the_backlog_pushes_stored_events_in_batches_until_they_are(tmp_path: Path) -> None:
    from serving.state import Backlog

    hour_ago = FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    events = EventStore(f"sqlite:///{tmp_path / 'events.db'}", clock=hour_ago)
    shop = type("S", (), {"known_user": "u1", "known_items": [f"i{k}" for k in range(20)]})
    events.append(_crashed_events(shop).head(7))  # type: ignore[arg-type]
    recent = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    recent.append(_crashed_events(shop).head(2))  # type: ignore[arg-type]
    pushes: list[int] = []
    working = False

    def push(frame: pl.DataFrame) -> bool:
        pushes.append(frame.height)
        return working

    backlog = Backlog(events, push, batch=3, grace_seconds=10)
    assert not backlog.drain() and events.count(pushed=False) == 9, "a failed push marks none"
    working, pushes[:] = True, []
    assert backlog.drain() and pushes == [3, 3, 1]
    assert events.count(pushed=False) == 2, "events just received are the request's to push"
    events.close()
    recent.close()
