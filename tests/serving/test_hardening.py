"""The hardened service: JSON only, bounded values, forged prices, keys, quiet logs.

The unit tests check the event bounds and the price check without a server; the rest
run against the real server (``storefront serve``) of the session.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from serving.events import Bounds, InvalidEventError, check_prices, validate_events
from tests.serving.client import ADMIN, Server, TrainedShop, call, get, price_of

POSTS = [
    "/recommend", "/similar_items", "/bought_together", "/price", "/forecast",
    "/user_profile", "/events", "/experiments/report", "/admin/reload",
]  # fmt: skip
KEYS = {"x-ingest-key": "test-ingest-key", "x-api-key": "test-admin-key"}


def _row(**overrides: object) -> dict:
    return {
        "event_id": uuid.uuid4().hex, "user_id": "u1", "session_id": "s1", "item_id": "i1",
        "event_type": "purchase", "timestamp": dt.datetime.now(dt.UTC), "quantity": 1,
        "unit_price": 2.5, "request_id": None, **overrides,
    }  # fmt: skip


# --- without a server -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 2**63}, "quantity"),
        ({"quantity": 1001}, "quantity"),
        ({"unit_price": float("inf")}, "unit_price"),
        ({"unit_price": float("nan")}, "unit_price"),
        ({"unit_price": -1.0}, "unit_price"),
        ({"unit_price": 0.0}, "unit_price"),
        ({"unit_price": 1e7}, "unit_price"),
        ({"timestamp": dt.datetime(1, 1, 1, tzinfo=dt.UTC)}, "timestamp"),
        ({"timestamp": dt.datetime(9999, 12, 31, tzinfo=dt.UTC)}, "timestamp"),
        ({"timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(days=401)}, "timestamp"),
        ({"timestamp": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))},
         "timestamp"),
    ],
)  # fmt: skip
def test_bounds_are_checked_before_the_frame_is_built(overrides: dict, field: str) -> None:
    rows = [_row(), _row(**overrides)]
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(InvalidEventError) as caught:
        validate_events(rows, None, now, dt.timedelta(minutes=5), Bounds())
    assert caught.value.field == f"events.1.{field}"


def test_bounds_come_from_the_settings() -> None:
    from serving.config import EventsConfig

    bounds = Bounds.of(EventsConfig(max_quantity=5, max_unit_price=10, max_age_days=1))
    assert bounds == Bounds(5, 10.0, dt.timedelta(days=1))
    now = dt.datetime.now(dt.UTC)
    assert validate_events([_row(quantity=5)], None, now, None, bounds).height == 1
    with pytest.raises(InvalidEventError, match="max_quantity"):
        validate_events([_row(quantity=6)], None, now, None, bounds)
    old = now - dt.timedelta(days=2)
    with pytest.raises(InvalidEventError, match="max_age_days"):
        validate_events([_row(timestamp=old)], None, now, None, bounds)
    assert validate_events([_row(timestamp=old)], None).height == 1, "no clock: no window"


def test_forged_prices_are_refused() -> None:
    now = dt.datetime.now(dt.UTC)
    asked: list[tuple[list[str], dt.datetime]] = []

    def quote(items: list[str], at: dt.datetime) -> dict[str, set[float]]:
        asked.append((sorted(items), at))
        return {"i1": {10.0}, "i3": {4.0, 5.0}}

    rows = [
        _row(unit_price=10.05, timestamp=now),
        _row(event_type="view", unit_price=1.0, timestamp=now),  # views are not checked
        _row(item_id="i2", unit_price=1.0, timestamp=now),  # no quote: not checked
        _row(event_type="add_to_cart", unit_price=9.95, timestamp=now),
        _row(item_id="i3", unit_price=4.0, timestamp=now),  # either of its prices
        _row(item_id="i3", unit_price=5.0, timestamp=now),
    ]
    frame = validate_events(rows, None)
    check_prices(frame, quote, 0.01)
    assert asked == [(["i1", "i2", "i3"], now)], "one quote per moment, priced events only"
    forged = validate_events([*rows, _row(event_type="add_to_cart", unit_price=8.0)], None)
    with pytest.raises(InvalidEventError) as caught:
        check_prices(forged, quote, 0.01)
    assert caught.value.field == "events.6.unit_price" and "quotes 10" in caught.value.reason
    between = validate_events([_row(item_id="i3", unit_price=4.5)], None)
    with pytest.raises(InvalidEventError, match="quotes 4 or 5"):
        check_prices(between, quote, 0.01)
    check_prices(pl.DataFrame(forged.filter(pl.col("event_type") == "view")), quote, 0.01)


def test_a_batch_reads_the_price_ledger_once(
    feed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 purchases stamped 500 different moments over two prices in force: the ledger
    is looked at once for the batch, its prices in force once per span."""
    from serving.prices import PriceBook
    from serving.shop import Shop
    from training.pricing import ledger
    from training.pricing.actions import publish

    shop = Shop.load(feed_dir)
    item = next(iter(shop.categories))
    now = dt.datetime.now(dt.UTC)
    changed = now - dt.timedelta(hours=1)
    for price, start in ((9.99, now - dt.timedelta(hours=3)), (8.88, changed)):
        rows = pl.DataFrame(
            {"item_id": [item], "price": [price], "was_price": [None], "reasons": [[]]},
            schema_overrides={"reasons": pl.List(pl.String), "was_price": pl.Float64},
        )
        publish(feed_dir, rows, f"p-{price}", "tester", start, valid_from=start)
    calls: dict[str, int] = {"ledger_version": 0, "read_ledger": 0, "in_force": 0}
    for name in calls:
        real = getattr(ledger, name)

        def counted(*args: object, _real: Any = real, _name: str = name) -> Any:
            calls[_name] += 1
            return _real(*args)

        monkeypatch.setattr(ledger, name, counted)
    book = PriceBook(feed_dir, shop)
    stamps = [now - dt.timedelta(hours=2) + dt.timedelta(seconds=13 * i) for i in range(500)]
    paid = [9.99 if t < changed else 8.88 for t in stamps]
    frame = validate_events(
        [_row(item_id=item, timestamp=t, unit_price=p) for t, p in zip(stamps, paid, strict=True)],
        None,
    )
    check_prices(frame, book.quoter(lambda items, at: frozenset()), 0.01)
    assert calls == {"ledger_version": 1, "read_ledger": 1, "in_force": 2}, calls
    forged = frame.with_columns(
        unit_price=pl.when(pl.int_range(pl.len()) == 499).then(9.99).otherwise("unit_price")
    )
    with pytest.raises(InvalidEventError) as caught:
        check_prices(forged, book.quoter(lambda items, at: frozenset()), 0.01)
    assert caught.value.field == "events.499.unit_price"


# --- against the real server ------------------------------------------------------------


def _raw(
    server: Server, path: str, data: bytes, headers: dict[str, str], method: str = "POST"
) -> tuple[int, dict | str]:
    """A request exactly as given (no default content type or key)."""
    request = urllib.request.Request(
        server.base + path, data=data if method == "POST" else None, headers=headers,
        method=method,
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",  # no boundary: a 500 from Starlette's form parser once
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
    ],
)
def test_posts_that_are_not_json_answer_415(server: Server, content_type: str | None) -> None:
    headers = {**KEYS} if content_type is None else {**KEYS, "content-type": content_type}
    for path in POSTS:
        # urllib adds a form content type to a body without one: send none as ""
        sent = headers if content_type is not None else {**headers, "content-type": ""}
        status, answer = _raw(server, path, b"{}", sent)
        assert status == 415, (path, content_type, answer)
        assert answer["fields"] == ["content-type"], answer  # type: ignore[index]


def test_get_pages_are_untouched(server: Server) -> None:
    for page in ("/docs.json", "/metrics", "/livez", "/readyz"):
        assert get(server.base, page)[0] == 200, page


def _event(shop: TrainedShop, server: Server, **overrides: object) -> dict:
    item = shop.known_items[11]
    return {
        "event_id": uuid.uuid4().hex, "user_id": "u-hardening", "session_id": "s-hardening",
        "item_id": item, "event_type": "purchase",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(), "quantity": 1,
        "unit_price": price_of(server.base, item), **overrides,
    }  # fmt: skip


def test_events_need_the_ingest_key(server: Server, trained_shop: TrainedShop) -> None:
    body = {"events": [_event(trained_shop, server)]}
    anonymous = [{"x-ingest-key": ""}, {"x-ingest-key": "wrong"}]
    anonymous.append({"x-ingest-key": "", "x-api-key": KEYS["x-api-key"]})  # not the admin's
    for headers in anonymous:
        status, answer = call(server.base, "/events", body, headers)
        assert status == 401 and answer["fields"] == ["x-ingest-key"], (headers, answer)
    status, answer = call(server.base, "/events", body)  # with the key
    assert status == 200 and answer["accepted"] == 1, answer
    bearer = {"x-ingest-key": "", "authorization": "Bearer test-ingest-key"}
    status, answer = call(server.base, "/events", body, bearer)
    assert status == 200 and answer["duplicates"] == 1, answer


def test_reports_need_the_admin_key(server: Server) -> None:
    status, answer = call(server.base, "/experiments/report", {"name": "x"})
    assert status == 401 and answer["fields"] == ["x-api-key"], answer
    assert call(server.base, "/experiments/report", {"name": "x"}, ADMIN)[0] == 404
    assert get(server.base, "/reports/x")[0] == 401
    assert get(server.base, "/reports/x", ADMIN)[0] == 404


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"quantity": 9223372036854775808', "quantity"),  # 2**63
        ('"quantity": 100000', "quantity"),
        ('"unit_price": 1e999', "unit_price"),
        ('"unit_price": NaN', "unit_price"),
        ('"unit_price": -3.5', "unit_price"),
        ('"timestamp": "0001-01-01T00:00:00+00:00"', "timestamp"),
        ('"timestamp": "0001-01-01T00:00:00+14:00"', "timestamp"),
        ('"timestamp": "9999-12-31T23:59:59+00:00"', "timestamp"),
        ('"user_id": "u\\u0000nul"', "user_id"),
        ('"item_id": "i\\u0007"', "item_id"),
        ('"event_id": "e\\u007f"', "event_id"),
    ],
)
def test_out_of_bounds_values_answer_422_and_store_nothing(
    server: Server, trained_shop: TrainedShop, raw: str, field: str
) -> None:
    good = _event(trained_shop, server)
    bad = {k: v for k, v in _event(trained_shop, server).items() if k != field}
    text = json.dumps(bad)[:-1] + ", " + raw + "}"
    body = f'{{"events": [{json.dumps(good)}, {text}]}}'.encode()
    status, answer = call(server.base, "/events", body)
    assert status == 422, answer
    assert f"events.1.{field}" in answer["fields"], answer
    status, answer = call(server.base, "/events", {"events": [good]})
    assert status == 200 and answer["accepted"] == 1, "the refused batch stored nothing"


def test_a_forged_price_is_refused(server: Server, trained_shop: TrainedShop) -> None:
    good = _event(trained_shop, server)
    quoted = good["unit_price"]
    forged = {**_event(trained_shop, server), "unit_price": round(quoted * 0.5, 2)}
    status, answer = call(server.base, "/events", {"events": [good, forged]})
    assert status == 422 and answer["fields"] == ["events.1.unit_price"], answer
    cart = {**forged, "event_type": "add_to_cart"}
    status, answer = call(server.base, "/events", {"events": [cart]})
    assert status == 422 and answer["fields"] == ["events.0.unit_price"], answer
    near = {**forged, "unit_price": quoted * 1.005}
    view = {**forged, "event_id": uuid.uuid4().hex, "event_type": "view"}
    status, answer = call(server.base, "/events", {"events": [good, near, view]})
    assert status == 200 and answer["accepted"] == 3, "within 1%, and views are not checked"
    published = trained_shop.published_item  # its ledger price, not the feed's
    ledger = {**_event(trained_shop, server), "item_id": published, "unit_price": 9.99}
    assert call(server.base, "/events", {"events": [ledger]})[0] == 200


def test_a_refused_body_is_logged_without_its_values(
    server: Server, trained_shop: TrainedShop
) -> None:
    secret_user = f"u-secret-{uuid.uuid4().hex[:8]}"
    bad = {**_event(trained_shop, server), "user_id": secret_user, "unit_price": "twelve"}
    status, _ = call(server.base, "/events", {"events": [bad]})
    assert status == 422
    nul = {**_event(trained_shop, server), "user_id": secret_user + "\x00"}
    assert call(server.base, "/events", {"events": [nul]})[0] == 422
    log = server.log.read_text(errors="replace")
    assert secret_user not in log
    assert "input_value" not in log
    assert "invalid fields events.0.unit_price" in log


def test_the_quickstart_keys_are_made_once_owner_only_and_read_by_the_service(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs.service import ingest_key, service_keys
    from serving.config import ServingConfig

    for name in ("STOREFRONT_ADMIN_KEY", "STOREFRONT_INGEST_KEY", "STOREFRONT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    shop = tmp_path / "shop"
    keys = service_keys(shop)
    assert keys.admin != keys.ingest and len(keys.ingest) >= 32
    for path in (keys.admin_file, keys.ingest_file):
        assert path.stat().st_mode & 0o777 == 0o600
    assert service_keys(shop) == keys, "made once"
    assert keys.env() == {"STOREFRONT_ADMIN_KEY": keys.admin, "STOREFRONT_INGEST_KEY": keys.ingest}
    assert ingest_key(shop) == keys.ingest
    cfg = ServingConfig(data_dir=str(shop))
    assert cfg.resolved_admin_key() == keys.admin and cfg.resolved_ingest_key() == keys.ingest
    monkeypatch.setenv("STOREFRONT_INGEST_KEY", "from-env")
    assert cfg.resolved_ingest_key() == "from-env" == ingest_key(shop), "the environment wins"
    assert ServingConfig(data_dir=str(tmp_path / "other")).resolved_admin_key() is None
