"""The price quote log: one row per item of every ``/price`` answer, append-only.

Columns: ``request_id`` (the answer's), ``item_id``, ``price``, ``was_price``,
``is_reduced``, ``quoted_at`` (UTC), ``requester`` (the pseudonymised user or session
the storefront named, else ``None``; never a raw id). The table lives in the experiment
store's database (SQLite or Postgres), beside the exposures it complements: those are
logged for items in a pricing experiment only, this for every quote. The service writes
it in batches off the request path (:class:`QuoteLog`); the audit reads it
(:func:`read_quotes`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
)

log = logging.getLogger(__name__)
metadata = MetaData()
price_quotes = Table(
    "price_quotes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(200), nullable=False),
    Column("item_id", String(200), nullable=False),
    Column("price", Float, nullable=False),
    Column("was_price", Float, nullable=True),
    Column("is_reduced", Boolean, nullable=False),
    Column("quoted_at", DateTime, nullable=False),
    Column("requester", String(64), nullable=True),
    Index("ix_price_quotes_item_moment", "item_id", "quoted_at"),
)
QUOTE_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "item_id": pl.String(),
    "price": pl.Float64(),
    "was_price": pl.Float64(),
    "is_reduced": pl.Boolean(),
    "quoted_at": pl.Datetime("us", "UTC"),
    "requester": pl.String(),
}


@dataclass(frozen=True, slots=True)
class Quote:
    """One item of one ``/price`` answer (``requester`` already pseudonymised)."""

    request_id: str
    item_id: str
    price: float
    was_price: float | None
    is_reduced: bool
    quoted_at: dt.datetime
    requester: str | None = None


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


class QuoteLog:
    """Quotes queued by the request path and written every ``flush_seconds``.

    Args:
        engine: The database (the experiment store's engine); ``None``: nothing logged.
        flush_seconds: Batch period (0: written at once); at most this much of the log
            is lost if the process dies.
    """

    def __init__(self, engine: Engine | None, flush_seconds: float = 0.5) -> None:
        self.engine, self.flush_seconds = engine, flush_seconds
        self._pending: list[Quote] = []
        self._lock = threading.Lock()
        if engine is not None:
            metadata.create_all(engine)
            if flush_seconds > 0:
                threading.Thread(target=self._flusher, name="quote-log", daemon=True).start()

    def append(self, quotes: Iterable[Quote]) -> None:
        """Queue quotes for the next batch (or write them now when not batching)."""
        if self.engine is None:
            return
        with self._lock:
            self._pending.extend(quotes)
        if self.flush_seconds <= 0:
            self.flush()

    def flush(self) -> None:
        """Write the queued quotes (a failed write is logged, never raised)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch or self.engine is None:
            return
        rows = [
            {
                "request_id": q.request_id,
                "item_id": q.item_id,
                "price": q.price,
                "was_price": q.was_price,
                "is_reduced": q.is_reduced,
                "quoted_at": _naive_utc(q.quoted_at),
                "requester": q.requester,
            }
            for q in batch
        ]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(price_quotes), rows)
        except Exception:
            log.warning("price quote log write failed (%d rows)", len(rows), exc_info=True)

    def _flusher(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            self.flush()


def read_quotes(
    engine: Engine, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> pl.DataFrame:
    """The logged quotes with ``since <= quoted_at < until`` (empty when none logged).

    Args:
        engine: The database holding the log.
        since: First moment included (UTC), default: the first quote.
        until: First moment excluded (UTC), default: none.
    """
    if not inspect(engine).has_table(price_quotes.name):
        return pl.DataFrame(schema=QUOTE_SCHEMA)
    query = select(*[price_quotes.c[c] for c in QUOTE_SCHEMA])
    if since is not None:
        query = query.where(price_quotes.c.quoted_at >= _naive_utc(since))
    if until is not None:
        query = query.where(price_quotes.c.quoted_at < _naive_utc(until))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    naive = {**QUOTE_SCHEMA, "quoted_at": pl.Datetime("us")}
    frame = pl.DataFrame(rows, schema=naive, orient="row")
    return frame.with_columns(pl.col("quoted_at").dt.replace_time_zone("UTC"))
