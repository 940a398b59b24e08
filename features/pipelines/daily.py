"""Helpers shared by the daily snapshot pipelines: day grids, windows, time stamps."""

from __future__ import annotations

import datetime as dt

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


def trailing_sum(column: str, days: int, by: str | list[str]) -> pl.Expr:
    """Sum of ``column`` over the ``days`` days ending on each row's day.

    Needs rows sorted by day within ``by`` on a dense (gap-free) daily grid.
    """
    return pl.col(column).rolling_sum(window_size=days, min_samples=1).over(by)


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator``, null where the denominator is zero or null."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)
