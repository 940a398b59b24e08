"""``/price``'s reference prices: ``is_reduced`` only below the lawful 30-day lowest,
``was_price`` only then (a published price and a feed price alike)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from serving.prices import PriceBook, reference
from serving.shop import FeedPrice, Shop
from training.pricing.ledger import append, new_entries

T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_reference_sets_was_price_only_for_a_reduction() -> None:
    assert reference(7.0, 10.0) == (10.0, True)
    assert reference(10.0, 10.0) == (None, False)  # the lowest itself: no reduction
    assert reference(9.999, 10.0) == (None, False)  # rounding is no reduction
    assert reference(12.0, 10.0) == (None, False)  # above the lowest: no "was"
    assert reference(7.0, None) == (None, False)  # no reference known


def _book(tmp_path: Path) -> PriceBook:
    shop = Shop(
        categories={"a": "c", "b": "c", "f": "c"},
        prices={
            "a": FeedPrice(10.0, 10.0, False),
            "b": FeedPrice(10.0, 8.0, False),
            "f": FeedPrice(6.0, 6.0, True),
        },
        popular=["a", "b", "f"],
        unit_costs={},
    )
    rows = pl.DataFrame(
        {"item_id": ["a", "b"], "price": [7.0, 9.0], "previous_price": [10.0, 10.0],
         "was_price": [10.0, 8.0], "valid_from": [T - dt.timedelta(days=1)] * 2},
        schema_overrides={"valid_from": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    append(tmp_path, new_entries("publish", rows, "desk", T - dt.timedelta(days=2)))
    return PriceBook(tmp_path, shop)


def test_published_and_feed_prices_say_is_reduced_only_below_the_30_day_lowest(
    tmp_path: Path,
) -> None:
    answers, unknown, degraded = _book(tmp_path).prices(["a", "b", "f", "nope"], T)
    got = {p.item_id: (p.price, p.was_price, p.is_reduced, p.lowest_price_30d) for p in answers}
    assert got == {
        "a": (7.0, 10.0, True, 10.0),  # published cut below the lowest: a lawful reduction
        "b": (9.0, None, False, 8.0),  # published above its lowest: no "was" price
        "f": (6.0, None, False, 6.0),  # feed price equal to its lowest: not reduced
    }
    assert unknown == ["nope"] and degraded == []


def test_the_current_price_arm_answers_the_feed_price_without_a_reduction(tmp_path: Path) -> None:
    answers, _, _ = _book(tmp_path).prices(["a"], T, feed_only=frozenset({"a"}))
    assert (answers[0].price, answers[0].was_price, answers[0].is_reduced) == (10.0, None, False)
