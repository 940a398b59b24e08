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


def _window_lowest(own: pl.DataFrame, start: dt.datetime) -> float | None:
    """The lowest price in force during ``[start − 30 d, start)`` of one item's entries
    (sorted by ``valid_from``)."""
    earlier = own.filter(pl.col("valid_from") < start)
    in_force_then = earlier.filter(pl.col("valid_from") <= start - WINDOW).tail(1)
    window = earlier.filter(pl.col("valid_from") > start - WINDOW)
    prices = pl.concat([in_force_then, window])["price"]
    return None if prices.is_empty() else float(prices.min())  # type: ignore[arg-type]


def _starts(quotes: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """``quotes`` with ``start``: when the quoted price took effect (the entry in force
    at the quote when it names that price, else the quote's moment)."""
    entries = history.select(
        "item_id", pl.col("valid_from").alias("entry_from"), pl.col("price").alias("entry_price")
    ).sort("entry_from")
    joined = quotes.sort("quoted_at").join_asof(
        entries,
        left_on="quoted_at",
        right_on="entry_from",
        by="item_id",
        strategy="backward",
        check_sortedness=False,  # sorted above; Polars cannot check it within groups
    )
    same = (pl.col("entry_price") - pl.col("price")).abs() < CENT
    start = pl.when(same).then(pl.col("entry_from")).otherwise(pl.col("quoted_at"))
    return joined.with_columns(start.alias("start")).drop("entry_from", "entry_price")


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
    quote = pl.DataFrame(
        {"item_id": [item], "price": [price], "quoted_at": [at]},
        schema={"item_id": pl.String(), "price": pl.Float64(),
                "quoted_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    history = history.cast({"valid_from": pl.Datetime("us", "UTC"), "price": pl.Float64()})
    start = _starts(quote, history)["start"][0]
    own = history.filter(pl.col("item_id") == item).sort("valid_from")
    return _window_lowest(own, start)


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
    history = history.cast({"valid_from": pl.Datetime("us", "UTC"), "price": pl.Float64()})
    mine = history.filter(pl.col("item_id").is_in(shown["item_id"].unique().implode()))
    by_item = {
        k[0]: f.sort("valid_from") for k, f in mine.partition_by("item_id", as_dict=True).items()
    }
    empty = history.clear()
    shown = _starts(shown, mine)
    lowest = {
        (item, start): _window_lowest(by_item.get(item, empty), start)
        for item, start in shown.select("item_id", "start").unique().iter_rows()
    }
    rows = []
    for row in shown.iter_rows(named=True):
        row["lawful"] = lowest[(row["item_id"], row["start"])]
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
