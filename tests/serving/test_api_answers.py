"""What a storefront team relies on in the answers, against the real server: scores,
``k`` or ``short_reason``, ``unknown``, ``exclude``, ``include`` and the answer headers,
through the typed client (``serving.client``)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

import pytest

from serving.client import ServiceError, StorefrontClient
from tests.serving.client import ADMIN_KEY, INGEST_KEY, Server, TrainedShop

pytestmark = pytest.mark.slow
TIMING = re.compile(r"^app;dur=[0-9.]+$")


@pytest.fixture(scope="module")
def shop(server: Server) -> Iterator[StorefrontClient]:
    with StorefrontClient(server.base, ingest_key=INGEST_KEY, admin_key=ADMIN_KEY) as client:
        yield client


def test_scores_are_the_model_s_and_non_increasing(
    shop: StorefrontClient, trained_shop: TrainedShop
) -> None:
    answer = shop.recommend(user_id=trained_shop.known_user, k=10)
    scores = [i.score for i in answer.items]
    assert answer.strategy in ("reranked", "retrieval") and scores
    assert scores == sorted(scores, reverse=True), scores
    ranks = [round(1.0 - r / len(scores), 6) for r in range(len(scores))]
    assert scores != ranks, "scores are the model's, not rank positions"


def test_k_is_honoured_or_the_answer_says_why(
    shop: StorefrontClient, trained_shop: TrainedShop
) -> None:
    for k in (5, 100):
        answer = shop.recommend(user_id=trained_shop.known_user, k=k)
        assert len(answer.items) == k or answer.short_reason == "not_enough_candidates"
        assert (answer.short_reason is None) == (len(answer.items) == k)
    similar = shop.similar_items(trained_shop.known_items[3], k=100)
    assert len(similar.items) == 100 or similar.short_reason == "not_enough_candidates"


def test_an_unknown_category_is_named_not_an_empty_list(shop: StorefrontClient) -> None:
    answer = shop.recommend(session_id=f"s-{uuid.uuid4().hex}", category="no-such-category", k=5)
    assert answer.unknown == {"context.category": ["no-such-category"]}
    assert answer.items and not answer.degraded
    similar = shop.similar_items("no-such-item", category="no-such-category", k=5)
    assert similar.unknown == {"item_id": ["no-such-item"], "category": ["no-such-category"]}
    assert similar.items and not similar.known


def test_unknown_items_and_locations_are_named(
    shop: StorefrontClient, trained_shop: TrainedShop
) -> None:
    known = trained_shop.known_items[0]
    answer = shop.recommend(
        user_id=trained_shop.known_user, page_type="cart", cart_items=[known, "ghost-1"],
        exclude=["ghost-2"], k=5,
    )  # fmt: skip
    assert answer.unknown == {"context.cart_items": ["ghost-1"], "context.exclude": ["ghost-2"]}
    together = shop.bought_together([known, "ghost-1"], k=3)
    assert together.unknown == {"cart_items": ["ghost-1"]}
    price = shop.price([known, "ghost-1"])
    assert price.unknown == {"item_ids": ["ghost-1"]}
    forecast = shop.forecast([known], location_id="nowhere")
    assert forecast.unknown == {"item_ids": [known], "location_id": ["nowhere"]}
    assert shop.forecast([known], location_id="online").unknown == {}


def test_excluded_items_are_not_shown_and_k_still_filled(
    shop: StorefrontClient, trained_shop: TrainedShop
) -> None:
    first = shop.recommend(user_id=trained_shop.known_user, k=5)
    hidden = [i.item_id for i in first.items]
    again = shop.recommend(user_id=trained_shop.known_user, k=5, exclude=hidden)
    shown = [i.item_id for i in again.items]
    assert not set(shown) & set(hidden)
    assert len(shown) == 5 and again.short_reason is None and again.unknown == {}


def test_include_answers_the_price_in_force_and_the_stock(
    shop: StorefrontClient, trained_shop: TrainedShop
) -> None:
    plain = shop.recommend(user_id=trained_shop.known_user, k=5)
    assert all(i.price is None and i.in_stock is None for i in plain.items)
    answer = shop.recommend(user_id=trained_shop.known_user, k=5, include=["price", "stock"])
    ids = [i.item_id for i in answer.items]
    quoted = {p.item_id: p.price for p in shop.price(ids).prices}
    assert {i.item_id: i.price for i in answer.items} == quoted
    assert all(i.in_stock is True for i in answer.items), "the rules show in-stock items only"
    published = shop.recommend(
        user_id=trained_shop.known_user, page_type="product", k=3, include=["price"],
        item_id=trained_shop.known_items[1],
    )  # fmt: skip
    assert all(i.price is not None and i.in_stock is None for i in published.items)


def test_include_is_checked(shop: StorefrontClient) -> None:
    with pytest.raises(ServiceError) as refused:
        shop.post("/recommend", {"user_id": "u1", "include": ["colour"]})
    assert refused.value.status == 422 and refused.value.fields == ["include.0"]
    with pytest.raises(ServiceError) as too_many:
        shop.post("/recommend", {"user_id": "u1", "context": {"exclude": ["i"] * 101}})
    assert too_many.value.status == 422 and too_many.value.fields == ["context.exclude"]


def test_the_request_id_is_one_in_header_and_body(shop: StorefrontClient) -> None:
    mine = shop.recommend(session_id="s-1", k=3, request_id="req-42")
    assert mine.request_id == "req-42" == shop.last_headers["x-bentoml-request-id"]
    assert TIMING.match(shop.last_headers["server-timing"])
    made = shop.price(["anything"])
    assert made.request_id == shop.last_headers["x-bentoml-request-id"]
    with pytest.raises(ServiceError):
        shop.post("/recommend", {"k": 0})
    assert TIMING.match(shop.last_headers["server-timing"]), "errors are timed too"


def test_a_session_s_events_personalise_an_anonymous_visitor(
    shop: StorefrontClient, trained_shop: TrainedShop
) -> None:
    session = f"s-{uuid.uuid4().hex}"
    assert shop.recommend(session_id=session, k=5).strategy == "popularity"
    now = dt.datetime.now(dt.UTC)
    viewed = trained_shop.known_items[10:14]
    prices = {p.item_id: p.price for p in shop.price(viewed).prices}
    stored = shop.events(
        {"event_id": uuid.uuid4().hex, "user_id": f"anonymous-{session}", "session_id": session,
         "item_id": item, "event_type": "view", "timestamp": now - dt.timedelta(seconds=10 - n),
         "unit_price": prices[item]}
        for n, item in enumerate(viewed)
    )  # fmt: skip
    assert stored.accepted == len(viewed)
    answer = shop.recommend(session_id=session, k=5)
    assert answer.strategy in ("reranked", "retrieval"), answer
