"""Price parity: one price per item per moment, whoever asks.

For every item and moment bucket (the quote's ``quoted_at`` truncated to ``window``,
default one second), the quotes the service gave are collected; a **divergence** is a
bucket whose quotes name more than one price:

    divergent(item, bucket) ⇔ |{price(q) : q ∈ quotes(item, bucket)}| > 1

(prices compared to the cent). The expected count is zero: prices may change over time
(a new ledger entry, a switchback slice), never between shoppers of one moment. Each
divergence is listed with its prices, quote count and requesters (pseudonyms only).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

DIVERGENCE_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "moment": pl.Datetime("us", "UTC"),
    "quotes": pl.UInt32(),
    "prices": pl.List(pl.Float64()),
    "requesters": pl.UInt32(),
}


@dataclass(frozen=True)
class Parity:
    """The price-parity check of a set of quotes.

    Attributes:
        quotes: Quotes checked.
        items: Distinct items quoted.
        moments: (item, moment) buckets checked.
        shared: Buckets quoted more than once (where a divergence could show).
        divergences: One row per divergent bucket (``DIVERGENCE_SCHEMA``).
    """

    quotes: int
    items: int
    moments: int
    shared: int
    divergences: pl.DataFrame

    @property
    def ok(self) -> bool:
        """True when no bucket has two prices."""
        return self.divergences.is_empty()


def check_parity(quotes: pl.DataFrame, window: str = "1s") -> Parity:
    """Price parity of ``quotes`` (the quote log's columns ``item_id``, ``price``,
    ``quoted_at``, ``requester``).

    Args:
        quotes: Logged quotes.
        window: The length of a moment (a Polars duration, e.g. ``"1s"``).
    """
    buckets = (
        quotes.with_columns(
            pl.col("quoted_at").dt.truncate(window).alias("moment"),
            pl.col("price").round(2).alias("cents"),
        )
        .group_by("item_id", "moment")
        .agg(
            pl.len().alias("quotes"),
            pl.col("cents").unique().sort().alias("prices"),
            pl.col("requester").drop_nulls().n_unique().cast(pl.UInt32).alias("requesters"),
        )
    )
    divergent = (
        buckets.filter(pl.col("prices").list.len() > 1)
        .select(list(DIVERGENCE_SCHEMA))
        .cast(DIVERGENCE_SCHEMA)  # type: ignore[arg-type]
        .sort("moment", "item_id")
    )
    return Parity(
        quotes=quotes.height,
        items=quotes["item_id"].n_unique() if quotes.height else 0,
        moments=buckets.height,
        shared=buckets.filter(pl.col("quotes") > 1).height,
        divergences=divergent,
    )
