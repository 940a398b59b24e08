"""A/B tests through the real service: sticky variants on /recommend, item-randomised
prices on /price, exposures and outcomes logged, the report served."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from experiments.config import Experiment
from experiments.store import ExperimentStore
from tests.serving.client import ADMIN, Server, TrainedShop, call, get, price_of

pytestmark = pytest.mark.slow
NOW = dt.datetime.now(dt.UTC)


def _experiment(name: str, surface: str, unit: str, a: dict, b: dict) -> Experiment:
    return Experiment.model_validate(
        {
            "name": name, "surface": surface, "unit": unit,
            "variants": [{"name": "a", "weight": 0.5, **a}, {"name": "b", "weight": 0.5, **b}],
            "start": NOW - dt.timedelta(hours=1), "stop": NOW + dt.timedelta(days=1),
            "primary_metric": "conversion" if surface != "pricing" else "profit_per_unit",
        }
    )  # fmt: skip


@pytest.fixture(scope="module")
def ab_server(
    trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, ExperimentStore]]:
    """A server of its own with its own experiment store (the session's server runs none)."""
    folder = tmp_path_factory.mktemp("ab")
    url = f"sqlite:///{folder / 'experiments.db'}"
    (folder / "experiments.yaml").write_text(f"db_url: {url}\n")
    (folder / "serving.yaml").write_text(
        f"experiments_settings: {folder / 'experiments.yaml'}\nexperiments_refresh_seconds: 0.5\n"
    )
    store = ExperimentStore(url)
    store.create(_experiment("feed", "home_feed", "shopper", {"strategy": "popularity"},
                             {"strategy": "ranker"}))  # fmt: skip
    store.create(_experiment("prices", "pricing", "item", {"pricing_policy": "current"},
                             {"pricing_policy": "optimiser_profit"}))  # fmt: skip
    server = Server(trained_shop, folder / "server.log", folder / "serving.yaml").start()
    try:
        yield server, store
    finally:
        server.kill()


def _recommend(server: Server, user: str) -> dict:
    status, answer = call(server.base, "/recommend", {"user_id": user, "k": 5})
    assert status == 200, answer
    return answer


def test_shoppers_get_sticky_variants_that_change_the_answer(ab_server, trained_shop) -> None:
    server, _ = ab_server
    users = [f"shopper-{k}" for k in range(30)] + [trained_shop.known_user]
    first = {u: _recommend(server, u) for u in users}
    assert {a["variants"]["feed"] for a in first.values()} == {"a", "b"}
    for user, answer in first.items():
        assert _recommend(server, user)["variants"] == answer["variants"], "sticky"
        if answer["variants"]["feed"] == "a":
            assert answer["strategy"] == "popularity"
    assert call(server.base, "/recommend", {"user_id": "x", "context": {"page_type": "search"}}
                )[1]["variants"] == {}  # fmt: skip


def test_prices_are_randomised_by_item(ab_server, trained_shop) -> None:
    server, _ = ab_server
    items = trained_shop.known_items[:100]
    status, answer = call(server.base, "/price", {"item_ids": items})
    assert status == 200, answer
    variants = {p["item_id"]: p["variant"] for p in answer["prices"]}
    assert set(variants.values()) == {"a", "b"}
    again = call(server.base, "/price", {"item_ids": items})[1]
    assert {p["item_id"]: p["price"] for p in again["prices"]} == {
        p["item_id"]: p["price"] for p in answer["prices"]
    }, "one price per item at a moment, whoever asks"
    published = next(p for p in answer["prices"] if p["item_id"] == trained_shop.published_item)
    if published["variant"] == "a":
        assert published["source"] == "feed"
        assert published["reasons"] == ["experiment_current_price"]
    else:
        assert published["source"] == "published" and published["price"] == 9.99


def test_outcomes_are_attributed_and_the_report_is_served(ab_server, trained_shop) -> None:
    server, store = ab_server
    answer = _recommend(server, "buyer-1")
    item = answer["items"][0]["item_id"]
    moment = dt.datetime.now(dt.UTC)
    price = price_of(server.base, item)  # what the shopper was shown
    events = [
        {"event_id": f"ab-{kind}", "user_id": "buyer-1", "session_id": "s-ab", "item_id": item,
         "event_type": kind, "timestamp": (moment + dt.timedelta(seconds=k)).isoformat(),
         "quantity": 1, "unit_price": price, "request_id": answer["request_id"]}
        for k, kind in enumerate(("view", "add_to_cart", "purchase"))
    ]  # fmt: skip
    status, stored = call(server.base, "/events", {"events": events})
    assert status == 200 and stored["accepted"] == 3, stored
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        units = store.attributed("feed").units()
        buyer = units.filter(units["purchases"] > 0)
        if buyer.height:
            break
        time.sleep(0.2)
    assert buyer.height == 1
    assert buyer.row(0, named=True)["clicks"] == 1 and buyer.row(0, named=True)[
        "revenue"
    ] == pytest.approx(price)
    assert buyer.row(0, named=True)["unit_id"] != "buyer-1", "units are pseudonymised"
    assert call(server.base, "/experiments/report", {"name": "feed"})[0] == 401, "admin key"
    assert get(server.base, "/reports/feed")[0] == 401
    status, report = call(server.base, "/experiments/report", {"name": "feed"}, ADMIN)
    assert status == 200, report
    assert report["report"]["units"] >= 30 and report["html"] == "/reports/feed"
    status, page = get(server.base, "/reports/feed", ADMIN)
    assert status == 200 and "feed" in page and "<img" in page
    assert call(server.base, "/experiments/report", {"name": "nope"}, ADMIN)[0] == 404
    assert get(server.base, "/reports/nope", ADMIN)[0] == 404


def test_the_report_endpoint_is_in_the_openapi_document(ab_server) -> None:
    server, _ = ab_server
    status, text = get(server.base, "/docs.json")
    assert status == 200 and "/experiments/report" in text
