"""What the audit reads from the service's stores: served recommendation lists (the
experiment store's exposures) and the raw shopper ids (the feeds and the event log)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import sqlalchemy as sa

from experiments.tables import exposures

LIST_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "served_at": pl.Datetime("us", "UTC"),
    "items": pl.List(pl.String()),
}


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def served_lists(
    engine: sa.Engine, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> pl.DataFrame:
    """Recommendation lists logged as exposures (every surface but ``pricing``), one
    row per answer, with ``since <= served_at < until``."""
    if not sa.inspect(engine).has_table(exposures.name):
        return pl.DataFrame(schema=LIST_SCHEMA)
    c = exposures.c
    query = sa.select(c.request_id, c.served_at, c["items"]).where(c.surface != "pricing")
    if since is not None:
        query = query.where(c.served_at >= _naive_utc(since))
    if until is not None:
        query = query.where(c.served_at < _naive_utc(until))
    with engine.connect() as conn:
        rows = [
            (r, at.replace(tzinfo=dt.UTC), json.loads(items))
            for r, at, items in conn.execute(query)
        ]
    return pl.DataFrame(rows, schema=LIST_SCHEMA, orient="row").unique("request_id", keep="first")


def logged_ids(url: str) -> set[str]:
    """The raw ``user_id`` and ``session_id`` values of a service event log (none when
    it has no events table)."""
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return set()
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT DISTINCT user_id, session_id FROM events"))
            return {v for row in rows for v in row if v}
    finally:
        engine.dispose()


def feed_ids(events: pl.DataFrame | None) -> set[str]:
    """The raw ``user_id`` and ``session_id`` values of an events feed."""
    if events is None:
        return set()
    ids = pl.concat([events["user_id"], events["session_id"]]).drop_nulls().unique()
    return set(ids.to_list())
