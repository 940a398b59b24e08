"""Business rules: in stock only, no recent purchases, diversity cap, promotion boosts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from serving.config import RecommendConfig
from serving.engine import Engine
from serving.events import EventStore, validate_events
from serving.reader import Features
from serving.recommend import Recommender
from serving.rules import BusinessRules, Candidates, apply_rules
from serving.shop import Shop
from storefront.clock import FrozenClock


def _ranked(categories: list[str], in_stock: list[bool] | None = None) -> Candidates:
    n = len(categories)
    return Candidates(
        items=np.arange(n),
        item_ids=[f"i{k}" for k in range(n)],
        categories=categories,
        in_stock=np.array(in_stock if in_stock is not None else [True] * n),
        promo=np.zeros(n),
    )


def test_out_of_stock_and_recently_bought_are_dropped() -> None:
    ranked = _ranked(["a", "b", "c", "d"], in_stock=[True, False, True, True])
    chosen, scores = apply_rules(ranked, BusinessRules(), bought={2}, k=4)
    assert chosen == [0, 3]
    assert scores == sorted(scores, reverse=True)
    keep_all = BusinessRules(in_stock_only=False, exclude_bought_days=0)
    assert apply_rules(ranked, keep_all, bought={2}, k=4)[0] == [0, 1, 2, 3]


def test_diversity_cap_then_backfill() -> None:
    ranked = _ranked(["a", "a", "a", "a", "b"])
    rules = BusinessRules(max_per_category=2)
    assert apply_rules(ranked, rules, set(), k=3)[0] == [0, 1, 4]
    assert apply_rules(ranked, rules, set(), k=5)[0] == [0, 1, 4, 2, 3], "gaps are backfilled"


def test_promoted_items_and_categories_move_up() -> None:
    ranked = _ranked(["a", "b", "c", "d"])
    rules = BusinessRules(promoted_items={"i3": 1.0}, promoted_categories={"c": 0.6})
    assert apply_rules(ranked, rules, set(), k=4)[0] == [3, 2, 0, 1]


def test_empty_candidates() -> None:
    assert apply_rules(_ranked([]), BusinessRules(), set(), k=3) == ([], [])


def test_recently_bought_is_judged_against_the_clock(tmp_path: Path) -> None:
    """ "Nothing bought in the last 30 days" counts back from the clock's now, not the
    wall clock: bought 10 days before it is excluded, 40 days before is allowed, both for
    purchases the model saw in training and for those received through ``/events``."""
    now = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)  # long before the wall clock's now
    clock = FrozenClock(now)
    ago = {days: now - dt.timedelta(days=days) for days in (10, 40)}
    engine = object.__new__(Engine)  # only the purchases as of training are needed
    engine.item_ids = np.array(["i0", "i1", "i2", "i3"])
    engine.index = {item: k for k, item in enumerate(engine.item_ids)}
    engine.extras = SimpleNamespace(
        purchases={"u1": (np.array([0, 1]), np.array([ago[10].timestamp(), ago[40].timestamp()]))}
    )
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}", clock=clock)
    events = [
        {"event_id": f"e{item}", "user_id": "u1", "session_id": "s1", "item_id": item,
         "event_type": "purchase", "timestamp": at, "quantity": 1, "unit_price": 2.0}
        for item, at in (("i2", ago[10]), ("i3", ago[40]))
    ]  # fmt: skip
    store.append(validate_events(events, None, clock.now(), dt.timedelta(minutes=5)))

    def purchases(user_id: str, since: float) -> list[str]:
        return store.recent_purchases(user_id, dt.datetime.fromtimestamp(since, dt.UTC))

    recommender = Recommender(
        {}, Shop({}, {}, []), Features(None), BusinessRules(), RecommendConfig(), purchases, clock
    )
    bought = recommender._bought(engine, "u1", [])
    assert bought == {0, 2}, "bought 10 days before the clock's now; 40 days is long enough"
    chosen, _ = apply_rules(_ranked(["a", "b", "c", "d"]), BusinessRules(), bought, k=4)
    assert chosen == [1, 3]
    clock.advance(days=25)  # the 10-day-old purchases are 35 days old now
    assert recommender._bought(engine, "u1", []) == set()
    store.close()


def test_scores_are_the_models_and_never_increase_down_the_answer() -> None:
    """A demoted item (diversity cap) takes the score of the item above it; a promoted
    one adds its boost in units of the candidates' score range."""
    ranked = Candidates(
        items=np.arange(5),
        item_ids=[f"i{k}" for k in range(5)],
        categories=["a", "a", "a", "b", "b"],
        in_stock=np.ones(5, bool),
        promo=np.zeros(5),
        scores=np.array([4.0, 3.0, 2.0, 1.0, 0.0]),
    )
    chosen, scores = apply_rules(ranked, BusinessRules(max_per_category=2), set(), k=5)
    assert chosen == [0, 1, 3, 4, 2]
    assert scores == [4.0, 3.0, 1.0, 0.0, 0.0], "the model's scores, the demoted one capped"
    boosted = BusinessRules(promoted_items={"i4": 1.5}, max_per_category=5)
    chosen, scores = apply_rules(ranked, boosted, set(), k=2)
    assert chosen == [4, 0] and scores == [6.0, 4.0]


def test_excluded_items_are_never_shown() -> None:
    chosen, _ = apply_rules(_ranked(["a", "b", "c", "d"]), BusinessRules(), set(), 4, {1, 3})
    assert chosen == [0, 2]
