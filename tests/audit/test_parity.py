"""Price parity on small quote logs with known divergences."""

from __future__ import annotations

import datetime as dt

import polars as pl

from audit.parity import check_parity
from audit.quotes import QUOTE_SCHEMA

T = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _quotes(rows: list[tuple[str, float, dt.timedelta, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(f"r{n}", item, price, None, False, T + after, who)
         for n, (item, price, after, who) in enumerate(rows)],
        schema=QUOTE_SCHEMA, orient="row",
    )  # fmt: skip


def test_two_prices_of_one_item_at_one_moment_are_a_divergence() -> None:
    ms = dt.timedelta(milliseconds=1)
    parity = check_parity(
        _quotes([
            ("a", 9.99, 0 * ms, "p1"), ("a", 9.99, 400 * ms, "p2"),  # same price: fine
            ("b", 5.00, 0 * ms, "p1"), ("b", 4.50, 200 * ms, "p2"),  # personalised: found
            ("b", 4.50, dt.timedelta(seconds=9), "p1"),  # a later price change: fine
        ])
    )  # fmt: skip
    assert not parity.ok
    assert parity.quotes == 5 and parity.items == 2 and parity.moments == 3 and parity.shared == 2
    found = parity.divergences.to_dicts()
    assert found == [
        {"item_id": "b", "moment": T, "quotes": 2, "prices": [4.5, 5.0], "requesters": 2}
    ]


def test_one_price_per_moment_is_parity_and_cents_of_rounding_do_not_count() -> None:
    parity = check_parity(
        _quotes([("a", 9.99, dt.timedelta(0), "p1"), ("a", 9.990000001, dt.timedelta(0), None)])
    )
    assert parity.ok and parity.shared == 1


def test_no_quotes_no_divergence() -> None:
    parity = check_parity(pl.DataFrame(schema=QUOTE_SCHEMA))
    assert parity.ok and parity.quotes == 0 and parity.items == 0
