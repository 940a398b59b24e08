"""The figures by category and by RFM segment, each beside the previous period's.

- **By category**: every figure of :mod:`kpi.figures` over the events of the category's
  items (an order with items of two categories is an order of each; a session counts
  for a category when it touched one of its items).
- **By RFM segment**: over the events of the shoppers in each segment as they *entered*
  the period (their feature-store segment on the day before it starts:
  :func:`kpi.shoppers.segments_on`), so a period's own purchases do not move a shopper
  into the segment the period is judged by. Shoppers first seen in the period are
  ``prospect``, as the service calls a shopper it does not know.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from kpi.figures import summarise, with_previous
from kpi.periods import Period

UNKNOWN_SEGMENT = "prospect"


def by_category(events: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Per category: the figures of ``period`` and of the previous period, the
    categories with the highest GMV first.

    Args:
        events: Prepared events (:func:`kpi.figures.prepare`) covering both periods.
        period: The current period.
    """
    current = summarise(events.filter(period.contains(pl.col("timestamp"))), ["category"])
    before = summarise(events.filter(period.previous().contains(pl.col("timestamp"))), ["category"])
    return with_previous(current, before, ["category"]).sort(
        "gmv", "category", descending=[True, False]
    )


def with_segment(events: pl.DataFrame, segments: pl.DataFrame) -> pl.DataFrame:
    """Events with their shopper's ``rfm_segment`` (``prospect`` for shoppers without
    one).

    Args:
        events: Prepared events.
        segments: ``user_id``, ``rfm_segment``.
    """
    found = events.join(segments.select("user_id", "rfm_segment"), on="user_id", how="left")
    return found.with_columns(pl.col("rfm_segment").fill_null(UNKNOWN_SEGMENT))


def by_segment(
    events: pl.DataFrame, period: Period, entering: dict[dt.date, pl.DataFrame]
) -> pl.DataFrame:
    """Per RFM segment: the figures of ``period`` and of the previous period, each
    period's shoppers in the segment they entered it with.

    Args:
        events: Prepared events covering both periods.
        period: The current period.
        entering: Segments (``user_id``, ``rfm_segment``) keyed by the first day of the
            period they apply to (``period.since`` and ``period.previous().since``).
    """
    parts = []
    for part in (period, period.previous()):
        mine = events.filter(part.contains(pl.col("timestamp")))
        parts.append(summarise(with_segment(mine, entering[part.since]), ["rfm_segment"]))
    return with_previous(parts[0], parts[1], ["rfm_segment"]).sort(
        "gmv", "rfm_segment", descending=[True, False]
    )
