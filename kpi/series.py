"""The figures by day or week, with the previous period's beside them.

Bucket ``n`` of the current period (its ``n``-th day or week, :func:`kpi.periods.bucket`)
sits beside bucket ``n`` of the previous period, so a line of last month lies under this
month's day by day. Every bucket is there, with zero counts where nothing happened.
"""

from __future__ import annotations

import polars as pl

from kpi.figures import ALL_FIGURES, COUNTS, summarise
from kpi.periods import By, Period, bucket, buckets


def _by_bucket(events: pl.DataFrame, period: Period, by: By) -> pl.DataFrame:
    mine = events.filter(period.contains(pl.col("timestamp")))
    summary = summarise(
        mine.with_columns(bucket=bucket(period, by, pl.col("timestamp"))), ["bucket"]
    )
    return (
        buckets(period, by)
        .join(summary, on="bucket", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in COUNTS)
        .sort("bucket")
    )


def series(events: pl.DataFrame, period: Period, by: By) -> pl.DataFrame:
    """One row per bucket of ``period``: ``bucket``, ``start``, ``end``, every figure,
    and the same of the previous period's bucket as ``previous_start``,
    ``previous_end``, ``<figure>_previous``.

    Args:
        events: Prepared events (:func:`kpi.figures.prepare`) covering both periods.
        period: The current period.
        by: ``day`` or ``week``.
    """
    current = _by_bucket(events, period, by)
    before = _by_bucket(events, period.previous(), by).rename(
        {"start": "previous_start", "end": "previous_end"}
        | {f.key: f"{f.key}_previous" for f in ALL_FIGURES}
    )
    return current.join(before, on="bucket", how="left")
