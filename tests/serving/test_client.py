"""The typed client (``serving.client``) against the real server: typed answers,
refusals as ``ServiceError`` naming status and fields, and the same calls over a
``post`` function."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from serving.client import ServiceError, StorefrontClient
from serving.schemas import EventsResponse, PriceResponse
from tests.serving.client import INGEST_KEY, Server, TrainedShop, call, free_port

pytestmark = pytest.mark.slow


def test_answers_are_the_service_s_models(server: Server, trained_shop: TrainedShop) -> None:
    with StorefrontClient(server.base, ingest_key=INGEST_KEY) as shop:
        price = shop.price([trained_shop.published_item])
        assert isinstance(price, PriceResponse) and price.prices[0].source == "published"
        event = {
            "event_id": uuid.uuid4().hex, "user_id": "u-client", "session_id": "s-client",
            "item_id": trained_shop.known_items[2], "event_type": "view",
            "timestamp": dt.datetime.now(dt.UTC), "unit_price": 1.0,
        }  # fmt: skip
        stored = shop.events([event])
        assert isinstance(stored, EventsResponse) and stored.event_ids == [event["event_id"]]


def test_refusals_name_the_status_and_fields(server: Server) -> None:
    with StorefrontClient(server.base) as anonymous:  # no ingest key
        with pytest.raises(ServiceError) as refused:
            anonymous.events([{"event_id": "e"}])
        assert refused.value.status == 401 and refused.value.fields == ["x-ingest-key"]
        with pytest.raises(ServiceError) as invalid:
            anonymous.recommend(user_id="u1", k=101)
        assert invalid.value.status == 422 and invalid.value.fields == ["k"]
    with StorefrontClient(f"http://127.0.0.1:{free_port()}", timeout=2) as nobody:
        with pytest.raises(ServiceError) as unreachable:
            nobody.price(["i"])
        assert unreachable.value.status == 0


def test_the_same_calls_over_a_post_function(server: Server, trained_shop: TrainedShop) -> None:
    sent: list[str] = []

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append(path)
        status, answer = call(server.base, path, body)
        assert status == 200, answer
        return answer

    shop = StorefrontClient.over(post)
    answer = shop.recommend(user_id=trained_shop.known_user, k=3, include=["price"])
    assert len(answer.items) == 3 and all(i.price is not None for i in answer.items)
    assert sent[-1] == "/recommend"
