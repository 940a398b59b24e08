"""Every endpoint over the real BentoML HTTP server: normal answers, unknown ids,
malformed bodies (422 naming the field), size limits (413), the admin key, OpenAPI,
health and metrics; a reload during load loses no request."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import mlflow
import pytest
from mlflow import MlflowClient

from tests.serving.client import ADMIN_KEY, Server, TrainedShop, call, get, price_of

pytestmark = pytest.mark.slow
ENDPOINTS = (
    "/recommend", "/similar_items", "/bought_together", "/price", "/forecast",
    "/user_profile", "/events", "/admin/reload",
)  # fmt: skip


def _served(answer: dict) -> None:
    assert answer["request_id"] and answer["variants"] == {}
    assert "degraded" in answer


def test_recommend_for_a_known_shopper(server: Server, trained_shop: TrainedShop) -> None:
    status, answer = call(
        server.base, "/recommend", {"user_id": trained_shop.known_user, "k": 8, "request_id": "r1"}
    )
    assert status == 200, answer
    _served(answer)
    assert answer["request_id"] == "r1"
    assert answer["strategy"] == "reranked" and not answer["degraded"]
    assert answer["model_versions"] == {"storefront-recommender": trained_shop.version}
    items = [i["item_id"] for i in answer["items"]]
    assert len(items) == 8 == len(set(items))
    categories = [i["category"] for i in answer["items"]]
    assert max(categories.count(c) for c in categories) <= 3, "diversity cap"


def test_unknown_shopper_gets_popular_items_of_the_category(server: Server) -> None:
    status, answer = call(
        server.base, "/recommend", {"user_id": "never-seen", "context": {"category": "category_03"}}
    )
    assert status == 200, answer
    assert answer["strategy"] == "popularity" and not answer["degraded"]
    assert answer["items"] and {i["category"] for i in answer["items"]} == {"category_03"}


def test_page_context_picks_the_strategy(server: Server, trained_shop: TrainedShop) -> None:
    item = trained_shop.known_items[3]
    _, product = call(
        server.base,
        "/recommend",
        {"session_id": "s-1", "context": {"page_type": "product", "item_id": item}, "k": 4},
    )
    assert product["strategy"] == "similar_items" and item not in product["items"]
    _, cart = call(
        server.base,
        "/recommend",
        {"user_id": "x", "context": {"page_type": "cart", "cart_items": [item]}},
    )
    assert cart["strategy"] == "bought_together"
    assert item not in [i["item_id"] for i in cart["items"]]


def test_item_to_item_endpoints(server: Server, trained_shop: TrainedShop) -> None:
    item = trained_shop.known_items[5]
    status, similar = call(server.base, "/similar_items", {"item_id": item, "k": 5})
    assert status == 200 and similar["known"] and len(similar["items"]) == 5
    _served(similar)
    status, unknown = call(server.base, "/similar_items", {"item_id": "no-such-item", "k": 5})
    assert status == 200 and not unknown["known"] and len(unknown["items"]) == 5
    status, addons = call(server.base, "/bought_together", {"cart_items": [item, "ghost"], "k": 5})
    assert status == 200 and addons["unknown_items"] == ["ghost"]
    assert addons["items"] and item not in [i["item_id"] for i in addons["items"]]


def test_price_published_feed_and_unknown(server: Server, trained_shop: TrainedShop) -> None:
    published, other = trained_shop.published_item, trained_shop.known_items[1]
    status, answer = call(server.base, "/price", {"item_ids": [published, other, "ghost"]})
    assert status == 200, answer
    by_item = {p["item_id"]: p for p in answer["prices"]}
    assert by_item[published]["price"] == 9.99 and by_item[published]["source"] == "published"
    assert by_item[published]["reasons"] == ["max_change"]
    assert by_item[published]["approved_by"] == "tester"
    # its ledger's "was" 8.49 is below 9.99: no reduction, so no struck-through price
    assert by_item[published]["was_price"] is None and by_item[published]["is_reduced"] is False
    assert (
        by_item[other]["reasons"] == ["no_published_price"] and by_item[other]["source"] == "feed"
    )
    assert 0 < by_item[other]["lowest_price_30d"] <= by_item[other]["price"]
    assert answer["unknown_items"] == ["ghost"]


def test_a_price_approved_for_later_is_not_served_early(
    server: Server, trained_shop: TrainedShop
) -> None:
    status, answer = call(server.base, "/price", {"item_ids": [trained_shop.pending_item]})
    assert status == 200, answer
    quote = answer["prices"][0]
    assert quote["source"] == "feed" and quote["price"] != 7.77, "valid in three days"


def test_forecast_with_horizon_and_quantiles(server: Server, trained_shop: TrainedShop) -> None:
    item = trained_shop.known_items[0]
    status, answer = call(
        server.base,
        "/forecast",
        {"item_ids": [item, "ghost"], "horizon": 7, "quantiles": ["p10", "p90"]},
    )
    assert status == 200, answer
    assert answer["unknown_items"] == ["ghost"] and answer["horizon"] == 7
    points = answer["forecasts"][0]["points"]
    assert [p["step"] for p in points] == list(range(1, 8))
    assert points[0]["quantiles"] == {"p10": 1.0, "p90": 3.5}
    status, long = call(server.base, "/forecast", {"item_ids": [item], "horizon": 28})
    assert status == 200 and long["horizon"] == 14, "at most the stored horizon"


def test_user_profile(server: Server, trained_shop: TrainedShop) -> None:
    status, known = call(server.base, "/user_profile", {"user_id": trained_shop.known_user})
    assert status == 200 and known["known"]
    assert known["segment"] and known["lifecycle_stage"] and known["top_categories"]
    status, unknown = call(server.base, "/user_profile", {"user_id": "never-seen"})
    assert status == 200 and not unknown["known"]
    assert unknown["segment"] == "prospect" and "unknown" in unknown["tags"]


def _event(item: str, user: str = "u-events", **overrides: object) -> dict:
    event = {
        "event_id": uuid.uuid4().hex,
        "user_id": user,
        "session_id": "s-events",
        "item_id": item,
        "event_type": "view",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "quantity": 1,
        "unit_price": 5.0,
        "request_id": "r-1",
    }
    return {**event, **overrides}


def test_events_are_stored_once_and_pushed(server: Server, trained_shop: TrainedShop) -> None:
    item = trained_shop.known_items[7]
    price = price_of(server.base, item)  # an add-to-cart carries the quoted price
    batch = [_event(item), _event(item, event_type="add_to_cart", unit_price=price)]
    status, answer = call(server.base, "/events", {"events": batch})
    assert status == 200, answer
    assert answer["accepted"] == 2 and answer["duplicates"] == 0 and answer["pushed"]
    status, again = call(server.base, "/events", {"events": batch})
    assert status == 200 and again["accepted"] == 0 and again["duplicates"] == 2
    _, profile = call(server.base, "/user_profile", {"user_id": "u-events"})
    assert "open_cart" in profile["tags"], "recent activity is online at once"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/recommend", {"user_id": "u", "k": 101}, "k"),
        ("/recommend", {"user_id": "u", "k": "ten"}, "k"),
        (
            "/recommend",
            {"user_id": "u", "context": {"cart_items": ["i"] * 51}},
            "context.cart_items",
        ),
        ("/recommend", {"user_id": "u", "context": {"page_type": "moon"}}, "context.page_type"),
        ("/recommend", {"user_id": "u", "colour": "red"}, "colour"),
        ("/similar_items", {"k": 3}, "item_id"),
        ("/bought_together", {"cart_items": []}, "cart_items"),
        ("/price", {"item_ids": ["i"] * 101}, "item_ids"),
        ("/forecast", {"item_ids": ["i"], "horizon": 0}, "horizon"),
        ("/forecast", {"item_ids": ["i"], "quantiles": ["p99"]}, "quantiles.0"),
        ("/user_profile", {"user_id": ""}, "user_id"),
        ("/events", {"events": []}, "events"),
    ],
)
def test_malformed_bodies_name_the_field(server: Server, path: str, body: dict, field: str) -> None:
    status, answer = call(server.base, path, body)
    assert status == 422, answer
    assert field in answer["fields"], answer
    assert field in answer["error"]


def test_bad_events_name_row_and_field(server: Server, trained_shop: TrainedShop) -> None:
    item = trained_shop.known_items[2]
    cases = [
        (_event(item, quantity=0), "events.1.quantity"),
        (_event(item, event_type="click"), "events.1.event_type"),
        (_event(item, unit_price=-1), "events.1.unit_price"),
        (_event(item, timestamp="2025-06-01T10:00:00"), "events.1.timestamp"),  # naive
        (_event("not-in-catalog"), "events.1.item_id"),
    ]
    for bad, field in cases:
        status, answer = call(server.base, "/events", {"events": [_event(item), bad]})
        assert status == 422 and field in answer["fields"], (field, answer)
    duplicate = _event(item)
    status, answer = call(server.base, "/events", {"events": [duplicate, duplicate]})
    assert status == 422 and answer["fields"] == ["events.1.event_id"]
    too_many = [_event(item) for _ in range(501)]
    status, answer = call(server.base, "/events", {"events": too_many})
    assert status == 422 and answer["fields"] == ["events"]


def test_invalid_json_and_oversized_bodies(server: Server) -> None:
    status, answer = call(server.base, "/recommend", b"{not json")
    assert status == 422 and answer["fields"] == ["body"]
    status, answer = call(server.base, "/recommend", b'{"user_id": "' + b"x" * 1_100_000 + b'"}')
    assert status == 413 and answer["fields"] == ["body"]


def test_admin_needs_the_key(server: Server) -> None:
    assert call(server.base, "/admin/reload", {})[0] == 401
    assert call(server.base, "/admin/reload", {}, {"x-api-key": "wrong"})[0] == 401
    status, answer = call(server.base, "/admin/reload", {}, {"x-api-key": ADMIN_KEY})
    assert status == 200 and answer["reloaded"], answer


def test_openapi_health_and_metrics(server: Server) -> None:
    import json

    status, text = get(server.base, "/docs.json")
    assert status == 200
    paths = json.loads(text)["paths"]
    assert set(ENDPOINTS) <= set(paths)
    assert get(server.base, "/livez")[0] == 200 and get(server.base, "/readyz")[0] == 200
    status, metrics = get(server.base, "/metrics")
    assert status == 200 and "bentoml_service_request_duration_seconds" in metrics


def test_reload_during_load_loses_no_request(server: Server, trained_shop: TrainedShop) -> None:
    """Register a second version as champion, reload under load: every request answers
    200, and the answers move from the old version to the new one."""
    mlflow.set_tracking_uri(trained_shop.tracking_uri)
    second = mlflow.register_model(
        f"runs:/{trained_shop.run_id}/recommender", "storefront-recommender"
    )
    MlflowClient().set_registered_model_alias("storefront-recommender", "champion", second.version)
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def shopper() -> None:
        while not stop.is_set():
            status, answer = call(server.base, "/recommend", {"user_id": trained_shop.known_user})
            version = (
                answer["model_versions"].get("storefront-recommender", "") if status == 200 else ""
            )
            results.append((status, version))

    threads = [threading.Thread(target=shopper) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        threading.Event().wait(1.0)  # answers from the old version first
        status, reload = call(server.base, "/admin/reload", {}, {"x-api-key": ADMIN_KEY})
        assert status == 200 and reload["model_versions"]["champion"] == str(second.version)
        for _ in range(20):  # keep the load on a little after the swap
            if sum(v == str(second.version) for _, v in results) >= 20:
                break
            threading.Event().wait(0.25)
    finally:
        stop.set()
        for t in threads:
            t.join()
        MlflowClient().set_registered_model_alias(
            "storefront-recommender", "champion", trained_shop.version
        )
        call(server.base, "/admin/reload", {}, {"x-api-key": ADMIN_KEY})
    assert results and all(status == 200 for status, _ in results), results
    versions = [v for _, v in results]
    assert trained_shop.version in versions and str(second.version) in versions
