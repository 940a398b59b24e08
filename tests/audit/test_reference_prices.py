"""Lawful reference prices: a reduction must name the lowest price of the 30 days before
it took effect."""

from __future__ import annotations

import datetime as dt

import polars as pl

from audit.quotes import QUOTE_SCHEMA
from audit.reference_prices import check_reference_prices, lawful_reference

DAY = dt.timedelta(days=1)
T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
HISTORY = pl.DataFrame(
    {
        "item_id": ["a", "a", "a", "a"],
        "valid_from": [T - 60 * DAY, T - 40 * DAY, T - 20 * DAY, T - 2 * DAY],
        "price": [8.0, 12.0, 10.0, 7.0],  # 8 is older than 30 days before the cut to 7
    },
    schema_overrides={"valid_from": pl.Datetime("us", "UTC")},
)


def _quote(price: float, was: float | None, reduced: bool, item: str = "a") -> tuple:
    return ("r", item, price, was, reduced, T, None)


def test_the_reference_is_the_lowest_of_the_30_days_before_the_price_took_effect() -> None:
    # the cut to 7 took effect at T-2d; in force in [T-32d, T-2d): 12 (from T-40d), 10
    assert lawful_reference(HISTORY, "a", 7.0, T) == 10.0
    # a price the history does not hold (an experiment's): 30 days before the quote
    assert lawful_reference(HISTORY, "a", 6.0, T) == 7.0
    assert lawful_reference(HISTORY, "z", 6.0, T) is None


def test_each_unlawful_reduction_is_listed_with_its_reason() -> None:
    quotes = pl.DataFrame(
        [
            _quote(7.0, 10.0, True),  # lawful
            _quote(7.0, 12.0, True),  # 12 is not the 30-day lowest: a made-up "was"
            _quote(7.0, None, True),  # reduced without a reference
            _quote(7.0, 7.0, True),  # not below its "was"
            _quote(7.0, 10.0, False),  # a "was" shown without a reduction
            _quote(7.0, None, False),  # plain price
        ],
        schema=QUOTE_SCHEMA,
        orient="row",
    )
    found = check_reference_prices(quotes, HISTORY)
    assert not found.ok
    assert (found.quotes, found.reduced, found.shown_was_price) == (6, 4, 4)
    assert found.violations["reason"].to_list() == [
        "not_the_30_day_lowest",
        "no_was_price",
        "not_below_was_price",
        "was_price_not_reduced",
    ]
    assert found.violations["lawful"].to_list() == [10.0, 10.0, 10.0, 10.0]


def test_only_lawful_reductions_pass() -> None:
    quotes = pl.DataFrame([_quote(7.0, 10.0, True)], schema=QUOTE_SCHEMA, orient="row")
    assert check_reference_prices(quotes, HISTORY).ok
