"""Helpers shared by the daily snapshot pipelines: day grids, windows, time stamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

TIMESTAMP = "event_timestamp"
"""Name of the valid-from column of every feature table (Feast's timestamp field)."""


def day_of(ts: pl.Expr) -> pl.Expr:
    """The UTC calendar day of a timestamp."""
    return ts.dt.convert_time_zone("UTC").dt.date()


def end_of_day(day: pl.Expr) -> pl.Expr:
    """The moment a day's snapshot becomes valid: the next midnight, UTC."""
    return (day.cast(pl.Datetime("us")) + pl.duration(days=1)).dt.replace_time_zone("UTC")


def dense_days(first_day: pl.LazyFrame, key: str | list[str], last_day: dt.date) -> pl.LazyFrame:
    """One row per key and day from the key's ``first_day`` to ``last_day`` inclusive."""
    keys = [key] if isinstance(key, str) else key
    return (
        first_day.filter(pl.col("first_day") <= last_day)
        .select(*keys, day=pl.date_ranges("first_day", pl.lit(last_day), interval="1d"))
        .explode("day")
    )


def trailing_sums(columns: Sequence[str], windows: Sequence[int], by: str) -> list[pl.Expr]:
    """``{column}_{k}d``: sums of each column over the ``k`` days ending on each row's day.

    Needs a dense daily grid sorted by ``by`` then day, with ``days_in`` (days since the
    key's first row): the row ``k`` places up is then ``k`` days earlier for the same
    key exactly when ``days_in >= k``, so one cumulative sum per column serves every
    window (much faster than a rolling window per key).
    """
    exprs = []
    for column in columns:
        total = pl.col(f"_cum_{column}")
        for k in windows:
            earlier = pl.when(pl.col("days_in") >= k).then(total.shift(k)).otherwise(0)
            exprs.append((total - earlier).alias(f"{column}_{k}d"))
    return exprs


def running_total(column: str) -> pl.Expr:
    """Running total of an integer column per key, on a grid sorted by key then day with
    ``days_in`` (0 on each key's first row): one pass over the frame, no grouping."""
    run = pl.col(column).cum_sum()
    start = pl.when(pl.col("days_in") == 0).then(run - pl.col(column)).forward_fill()
    return run - start


def cumulative(columns: Sequence[str]) -> list[pl.Expr]:
    """Running totals ``_cum_{column}`` per key, the input of :func:`trailing_sums`."""
    return [running_total(c).alias(f"_cum_{c}") for c in columns]


def last_day_where(condition: pl.Expr, key: str) -> pl.Expr:
    """Per row, the latest day up to it on which ``condition`` held for the row's key
    (null if none), on a grid sorted by key then day."""
    owner = pl.when(condition).then(pl.col(key)).forward_fill()
    day = pl.when(condition).then(pl.col("day")).forward_fill()
    return pl.when(owner == pl.col(key)).then(day)


RETURNED, BOUGHT = "returned_units", "_bought_units"
"""Daily units returned and bought (purchases), the inputs of :func:`return_rate`."""


def return_units() -> dict[str, pl.Expr]:
    """Aggregations of one key's day: units returned and units bought (purchases)."""
    quantity, kind = pl.col("quantity"), pl.col("event_type")
    return {
        RETURNED: quantity.filter(kind == "return").sum(),
        BOUGHT: quantity.filter(kind == "purchase").sum(),
    }


def return_rate(window: int) -> dict[str, pl.Expr]:
    """``returned_units_{k}d`` and ``return_rate_{k}d`` (returned / bought units over the
    ``k`` days ending on the row's day; null when nothing was bought), from the trailing
    sums of :data:`RETURNED` and :data:`BOUGHT` (:func:`trailing_sums` over ``[k]``).

    Returns and purchases are counted in the same window, so a purchase bought near the
    window's end may be returned only after it: the rate is what the shop has seen so far
    (no later knowledge).
    """
    returned, bought = pl.col(f"{RETURNED}_{window}d"), pl.col(f"{BOUGHT}_{window}d")
    return {
        f"{RETURNED}_{window}d": returned,
        f"return_rate_{window}d": safe_ratio(returned.cast(pl.Float64), bought),
    }


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator``, null where the denominator is zero or null."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)
