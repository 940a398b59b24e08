"""Small hand-made frames for the KPI tests: events, a catalog, inventory, prices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from kpi.sources import contract_events

DAY = dt.date(2026, 3, 1)
"""The first day of the hand-made shop."""


def at(day: int, hour: int = 12) -> dt.datetime:
    """``DAY + day`` at ``hour`` UTC."""
    return dt.datetime.combine(DAY + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def events(rows: Sequence[tuple]) -> pl.DataFrame:
    """Events from ``(user, session, item, type, day, quantity, unit_price[, order_id])``
    tuples (ids numbered in order; times at noon of ``DAY + day``)."""
    records = []
    for n, row in enumerate(rows):
        user, session, item, kind, day, quantity, price, *rest = row
        records.append(
            {
                "event_id": f"e{n:04d}",
                "user_id": user,
                "session_id": session,
                "item_id": item,
                "event_type": kind,
                "timestamp": at(day) + dt.timedelta(seconds=n),
                "quantity": quantity,
                "unit_price": price,
                "order_id": rest[0] if rest else None,
            }
        )
    return contract_events(pl.DataFrame(records))


def catalog(costs: dict[str, float | None] | None = None) -> pl.DataFrame:
    """Items ``a`` and ``c`` in category ``X`` (costs 4 and 1), ``b`` in ``Y`` (no cost),
    ``d`` in ``Y`` (cost 2, never sold); all created long before ``DAY``."""
    costs = costs or {"a": 4.0, "b": None, "c": 1.0, "d": 2.0}
    return pl.DataFrame(
        {
            "item_id": list(costs),
            "category": ["X" if i in ("a", "c") else "Y" for i in costs],
            "base_price": [10.0] * len(costs),
            "unit_cost": list(costs.values()),
            "created_at": [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)] * len(costs),
        },
        schema_overrides={"unit_cost": pl.Float64},
    )
