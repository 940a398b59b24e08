"""The durable event store: contract validation, idempotency, SQLite durability
settings, Postgres through the same code, and no acknowledged event lost when the
server is killed with SIGKILL under load."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import threading
import uuid
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from serving.events import Bounds, EventStore, InvalidEventError, check_prices, validate_events
from storefront.clock import FrozenClock
from storefront.config import PROJECT_ROOT
from storefront.feeds.schemas import MAX_RETURN_REASON
from storefront.workspace import Workspace
from tests.serving.client import Server, TrainedShop, call, price_of


def _rows(n: int, item: str = "i1", user: str = "u1", **overrides: object) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [
        {
            "event_id": f"{uuid.uuid4().hex}",
            "user_id": user,
            "session_id": "s1",
            "item_id": item,
            "event_type": "purchase",
            "timestamp": now,
            "quantity": 1,
            "unit_price": 2.5,
            "request_id": None,
            **overrides,
        }
        for _ in range(n)
    ]


def test_validation_names_row_and_column() -> None:
    rows = _rows(3)
    rows[2]["quantity"] = 0
    with pytest.raises(InvalidEventError) as caught:
        validate_events(rows, None)
    assert caught.value.field == "events.2.quantity"
    with pytest.raises(InvalidEventError) as caught:
        validate_events(_rows(2, item="ghost"), {"i1"})
    assert caught.value.field == "events.0.item_id"


def test_events_from_beyond_the_clock_skew_are_refused() -> None:
    clock = FrozenClock(dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC))  # not the wall clock
    skew = dt.timedelta(minutes=5)
    rows = _rows(3, timestamp=clock.now())
    rows[1]["timestamp"] = clock.now() + dt.timedelta(minutes=6)
    with pytest.raises(InvalidEventError, match="in the future") as caught:
        validate_events(rows, None, clock.now(), skew)
    assert caught.value.field == "events.1.timestamp"
    rows[1]["timestamp"] = clock.now() + dt.timedelta(minutes=4)
    assert validate_events(rows, None, clock.now(), skew).height == 3, "within the skew"
    clock.advance(minutes=2)
    rows[2]["timestamp"] = clock.now() + dt.timedelta(minutes=6)
    with pytest.raises(InvalidEventError) as caught:
        validate_events(rows, None, clock.now(), skew)
    assert caught.value.field == "events.2.timestamp"
    assert validate_events(rows, None).height == 3, "no clock: no limit"


@pytest.mark.slow
def test_future_event_is_refused_and_nothing_of_its_batch_stored(
    server: Server, trained_shop: TrainedShop
) -> None:
    """The service's clock is the wall clock; the default skew is 5 minutes."""
    item = trained_shop.known_items[3]
    now = dt.datetime.now(dt.UTC)
    price = price_of(server.base, item)  # a purchase carries the quoted price
    good = _rows(1, item=item, user="u-future", timestamp=now.isoformat(), unit_price=price)[0]
    hour = (now + dt.timedelta(hours=1)).isoformat()
    late = {**good, "event_id": uuid.uuid4().hex, "timestamp": hour}
    status, answer = call(server.base, "/events", {"events": [good, late]})
    assert status == 422, answer
    assert answer["fields"] == ["events.1.timestamp"] and "events.1.timestamp" in answer["error"]
    far = {**late, "timestamp": "2030-01-01T00:00:00+00:00"}
    status, answer = call(server.base, "/events", {"events": [good, far]})
    assert status == 422 and answer["fields"] == ["events.1.timestamp"], answer
    soon = {**late, "timestamp": (now + dt.timedelta(minutes=2)).isoformat()}
    status, answer = call(server.base, "/events", {"events": [good, soon]})
    assert status == 200, answer
    assert answer["accepted"] == 2 and answer["duplicates"] == 0, "the refused batch stored nothing"


def _check_store(store: EventStore) -> None:
    rows = _rows(5)
    first = store.append(validate_events(rows, None))
    assert len(first.accepted) == 5 and not first.duplicates
    again = store.append(validate_events(rows[2:] + _rows(1), None))
    assert len(again.accepted) == 1 and len(again.duplicates) == 3, "idempotent on event_id"
    store.mark_pushed(first.accepted)
    ids = store.ids()
    assert {r["event_id"] for r in rows} <= ids
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert "i1" in store.recent_purchases("u1", since)


def test_sqlite_store_is_durable_and_idempotent(tmp_path: Path) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    _check_store(store)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert store.count() == 6 and store.count(pushed=True) == 5
    store.close()


@pytest.mark.slow
def test_postgres_store_through_the_same_code() -> None:
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "services.sh"), "start"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"scale services did not start:\n{done.stderr[-3000:]}")
    services = dict(line.split("=", 1) for line in done.stdout.split())
    store = EventStore(services["STOREFRONT_TEST_POSTGRES"])
    assert store.dialect == "postgresql"
    user = f"u-{uuid.uuid4().hex[:8]}"  # isolates this run in the shared server
    rows = _rows(4, user=user)
    first = store.append(validate_events(rows, None))
    again = store.append(validate_events(rows, None))
    assert len(first.accepted) == 4 and len(again.duplicates) == 4
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert store.recent_purchases(user, since) == ["i1"] * 4
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE user_id = :u"), {"u": user})
    store.close()


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_event(
    trained_shop: TrainedShop, tmp_path: Path
) -> None:
    """Several clients post batches; the server is killed with SIGKILL mid-load; after a
    restart every acknowledged event is in the store."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    config = tmp_path / "serving.yaml"
    config.write_text(f"events: {{url: '{url}'}}\n")
    server = Server(trained_shop, tmp_path / "server.log", config).start()
    acknowledged: list[str] = []
    answered, killed = threading.Event(), threading.Event()
    items = trained_shop.known_items

    def client(n: int) -> None:
        k = 0
        while not killed.is_set():
            batch = [
                {
                    "event_id": f"c{n}-{k}-{j}",
                    "user_id": f"load-{n}",
                    "session_id": f"s-{n}",
                    "item_id": items[(k + j) % len(items)],
                    "event_type": "view",
                    "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                    "unit_price": 3.0,
                }
                for j in range(20)
            ]
            k += 1
            try:
                status, answer = call(server.base, "/events", {"events": batch})
            except OSError:
                return  # the server is gone
            if status != 200:
                return
            acknowledged.extend(answer["event_ids"])
            answered.set()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    try:
        for t in threads:
            t.start()
        assert answered.wait(30), "no batch acknowledged"
        threading.Event().wait(2.0)
        server.kill(signal.SIGKILL)
        killed.set()
        for t in threads:
            t.join(timeout=60)
        assert len(acknowledged) >= 100
        server.start()  # the store opens again after the crash (WAL recovery)
        stored = EventStore(url).ids()
    finally:
        server.kill(signal.SIGTERM)
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged events lost"


OLD_EVENTS_TABLE = """
CREATE TABLE events (
    event_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    item_id VARCHAR(128) NOT NULL,
    event_type VARCHAR(16) NOT NULL,
    timestamp DATETIME NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price FLOAT NOT NULL,
    request_id VARCHAR(128),
    received_at DATETIME NOT NULL,
    pushed BOOLEAN NOT NULL,
    PRIMARY KEY (event_id)
)
"""


def test_an_events_db_of_the_old_layout_keeps_its_rows_and_gains_the_return_columns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A service upgraded over an existing ``events.db`` (made before returns were in
    the contract) adds ``order_id`` and ``return_reason`` and loses nothing."""
    path = tmp_path / "events.db"
    old = sa.create_engine(f"sqlite:///{path}")
    with old.begin() as conn:
        conn.exec_driver_sql(OLD_EVENTS_TABLE)
        conn.exec_driver_sql(
            "INSERT INTO events VALUES ('old-1', 'u1', 's1', 'i1', 'purchase', "
            "'2024-03-01 12:00:00.000000', 2, 9.5, 'r1', '2024-03-01 12:00:01.000000', 0)"
        )
    old.dispose()
    with caplog.at_level("INFO", logger="serving.events"):
        store = EventStore(f"sqlite:///{path}")
    assert store.added_columns == ["order_id", "return_reason"]
    assert "added column order_id" in caplog.text and "added column return_reason" in caplog.text
    now = dt.datetime.now(dt.UTC)
    back = _rows(1, event_type="return", order_id="o-7", return_reason="too small")
    stored = store.append(validate_events([*_rows(1, order_id="o-7"), *back], None, now))
    assert len(stored.accepted) == 2
    frame = store.unpushed().sort("timestamp")
    assert frame["event_id"][0] == "old-1", "the old row is still there"
    assert frame.row(0, named=True) | {"timestamp": None} == {
        "event_id": "old-1", "user_id": "u1", "session_id": "s1", "item_id": "i1",
        "event_type": "purchase", "timestamp": None, "quantity": 2, "unit_price": 9.5,
        "request_id": "r1", "order_id": None, "return_reason": None,
    }  # fmt: skip
    assert frame["timestamp"][0] == dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    returned = frame.filter(pl.col("event_type") == "return").row(0, named=True)
    assert returned["order_id"] == "o-7" and returned["return_reason"] == "too small"
    store.close()
    again = EventStore(f"sqlite:///{path}")
    assert again.added_columns == [] and again.count() == 3, "a second open changes nothing"
    again.close()


def test_returns_obey_the_same_bounds_as_every_event() -> None:
    now = dt.datetime.now(dt.UTC)
    bounds = Bounds(max_quantity=10, max_unit_price=100.0)
    ok = _rows(1, event_type="return", quantity=2, unit_price=9.5, return_reason="damaged")
    frame = validate_events(ok, None, now, dt.timedelta(minutes=5), bounds)
    assert frame["event_type"].to_list() == ["return"] and frame["quantity"].to_list() == [2]
    cases = {
        "quantity": {"quantity": 11},
        "unit_price": {"unit_price": 101.0},
        "timestamp": {"timestamp": now + dt.timedelta(hours=1)},
        "return_reason": {"return_reason": "x" * (MAX_RETURN_REASON + 1)},
    }
    for field, override in cases.items():
        rows = [*_rows(1), *_rows(1, event_type="return", **override)]
        with pytest.raises(InvalidEventError) as caught:
            validate_events(rows, None, now, dt.timedelta(minutes=5), bounds)
        assert caught.value.field == f"events.1.{field}", field
    with pytest.raises(InvalidEventError) as caught:
        validate_events(_rows(2, event_type="return", quantity=0), None)
    assert caught.value.field == "events.0.quantity"


def test_a_returns_refund_is_not_checked_against_the_quoted_price() -> None:
    now = dt.datetime.now(dt.UTC)

    def quote(items: list[str], at: dt.datetime) -> dict[str, set[float]]:
        return {"i1": {10.0}}

    refund = validate_events(_rows(1, event_type="return", unit_price=7.0, timestamp=now), None)
    check_prices(refund, quote, 0.01)  # paid at an earlier price or on promotion: refunded as paid
    forged = validate_events(_rows(1, unit_price=7.0, timestamp=now), None)
    with pytest.raises(InvalidEventError) as caught:
        check_prices(forged, quote, 0.01)
    assert caught.value.field == "events.0.unit_price"


@pytest.mark.slow
def test_the_service_stores_a_return_at_its_refund_and_names_a_bad_reason(
    server: Server, trained_shop: TrainedShop
) -> None:
    """``POST /events`` takes returns: the refund need not be today's quote; the reason's
    length is bounded (422 naming the field) and nothing of a refused batch is stored."""
    item = trained_shop.known_items[4]
    now = dt.datetime.now(dt.UTC).isoformat()
    price = price_of(server.base, item)
    bought = _rows(1, item=item, user="u-return", timestamp=now, unit_price=price, order_id="o1")
    back = _rows(
        1, item=item, user="u-return", timestamp=now, event_type="return",
        unit_price=round(price * 0.5, 2), order_id="o1", return_reason="arrived damaged",
    )  # fmt: skip
    long = {**back[0], "event_id": uuid.uuid4().hex, "return_reason": "x" * 201}
    status, answer = call(server.base, "/events", {"events": [*bought, long]})
    assert status == 422 and answer["fields"] == ["events.1.return_reason"], answer
    status, answer = call(server.base, "/events", {"events": [*bought, *back]})
    assert status == 200 and answer["accepted"] == 2, answer
    store = EventStore(f"sqlite:///{Workspace(trained_shop.data_dir).event_log}")
    query = "SELECT event_type, unit_price, order_id, return_reason FROM events WHERE event_id = :e"
    with store.engine.connect() as conn:
        row = conn.execute(sa.text(query), {"e": back[0]["event_id"]}).one()
    assert tuple(row) == ("return", round(price * 0.5, 2), "o1", "arrived damaged")
    store.close()
