"""Lawful reference prices: every price shown as reduced names its 30-day lowest.

A quote shown as reduced (``is_reduced``) is **lawful** when

    was_price = min{ p(t) : t ∈ [s − 30 d, s) }   and   price < was_price

where ``s`` is the moment the price in force at the quote took effect (the latest
history entry of the item at or before the quote, whose price is the quoted one; the
quote's moment when the history has no such entry) and ``p(t)`` the item's price in
force at ``t`` by the price history (the prices feed and the published ledger). Each
reduced quote that breaks it is listed with the reason ``no_was_price``,
``not_below_was_price`` or ``not_the_30_day_lowest`` (prices compared to the cent); a
quote carrying a ``was_price`` while not reduced is listed as ``was_price_not_reduced``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

WINDOW = dt.timedelta(days=30)
CENT = 0.005
VIOLATION_COLUMNS = ("request_id", "item_id", "quoted_at", "price", "was_price", "lawful", "reason")


@dataclass(frozen=True)
class ReferencePrices:
    """The reference-price check of a set of quotes.

    Attributes:
        quotes: Quotes checked.
        reduced: Quotes shown as reduced.
        shown_was_price: Quotes carrying a ``was_price``.
        violations: One row per unlawful quote (``VIOLATION_COLUMNS``).
    """

    quotes: int
    reduced: int
    shown_was_price: int
    violations: pl.DataFrame

    @property
    def ok(self) -> bool:
        """True when every reduced quote names its lawful reference."""
        return self.violations.is_empty()


def lawful_reference(
    history: pl.DataFrame, item: str, price: float, at: dt.datetime
) -> float | None:
    """The lowest price of ``item`` in force during the 30 days before its price ``price``
    in force at ``at`` took effect (``None`` when the history has no price then).

    Args:
        history: ``item_id``, ``valid_from`` (UTC), ``price``: every price entry.
        item: The item.
        price: The quoted price.
        at: The quote's moment.
    """
    own = history.filter(pl.col("item_id") == item).sort("valid_from")
    before = own.filter(pl.col("valid_from") <= at)
    start = at
    if before.height and abs(before["price"][-1] - price) < CENT:
        start = before["valid_from"][-1]
    earlier = own.filter(pl.col("valid_from") < start)
    in_force_then = earlier.filter(pl.col("valid_from") <= start - WINDOW).tail(1)
    window = earlier.filter(pl.col("valid_from") > start - WINDOW)
    prices = pl.concat([in_force_then, window])["price"]
    return None if prices.is_empty() else float(prices.min())  # type: ignore[arg-type]


def _reason(row: dict[str, object]) -> str | None:
    was, price, lawful = row["was_price"], row["price"], row["lawful"]
    if not row["is_reduced"]:
        return None if was is None else "was_price_not_reduced"
    if was is None:
        return "no_was_price"
    if price > was - CENT:  # type: ignore[operator]
        return "not_below_was_price"
    if lawful is None or abs(was - lawful) >= CENT:  # type: ignore[operator]
        return "not_the_30_day_lowest"
    return None


def check_reference_prices(quotes: pl.DataFrame, history: pl.DataFrame) -> ReferencePrices:
    """Check every quote showing a reduction or a "was" price against the history.

    Args:
        quotes: The quote log's columns (``request_id``, ``item_id``, ``price``,
            ``was_price``, ``is_reduced``, ``quoted_at``).
        history: ``item_id``, ``valid_from``, ``price`` of every price entry.
    """
    shown = quotes.filter(pl.col("is_reduced") | pl.col("was_price").is_not_null())
    rows = []
    for row in shown.iter_rows(named=True):
        row["lawful"] = lawful_reference(history, row["item_id"], row["price"], row["quoted_at"])
        row["reason"] = _reason(row)
        if row["reason"] is not None:
            rows.append({c: row[c] for c in VIOLATION_COLUMNS})
    schema = {
        "request_id": pl.String(), "item_id": pl.String(),
        "quoted_at": pl.Datetime("us", "UTC"), "price": pl.Float64(),
        "was_price": pl.Float64(), "lawful": pl.Float64(), "reason": pl.String(),
    }  # fmt: skip
    return ReferencePrices(
        quotes=quotes.height,
        reduced=quotes.filter(pl.col("is_reduced")).height,
        shown_was_price=quotes.filter(pl.col("was_price").is_not_null()).height,
        violations=pl.DataFrame(rows, schema=schema, orient="row"),
    )
