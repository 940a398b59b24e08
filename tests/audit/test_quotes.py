"""The quote log appends in batches and reads back a period, on a real SQLite file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from audit.quotes import Quote, QuoteLog, read_quotes

T = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def test_quotes_are_written_on_flush_and_read_back_by_period(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'experiments.db'}")
    assert read_quotes(engine).is_empty()  # no table yet: nothing, no error
    log = QuoteLog(engine, flush_seconds=3600)  # the batch waits for flush()
    log.append(
        Quote(f"r{n}", "a", 9.99, None, False, T + dt.timedelta(days=n), "3fa9c2d1")
        for n in range(3)
    )
    assert read_quotes(engine).is_empty()  # queued, off the request path
    log.flush()
    log.append([Quote("r9", "b", 5.0, 6.0, True, T, None)])
    log.flush()
    everything = read_quotes(engine)
    assert everything.height == 4
    assert everything.filter(everything["is_reduced"])["was_price"].to_list() == [6.0]
    day = read_quotes(engine, T + dt.timedelta(days=1), T + dt.timedelta(days=2))
    assert day["request_id"].to_list() == ["r1"]
    assert day["quoted_at"].to_list() == [T + dt.timedelta(days=1)]


def test_without_a_database_nothing_is_logged() -> None:
    log = QuoteLog(None)
    log.append([Quote("r", "a", 1.0, None, False, T)])
    log.flush()  # no error, nothing to write to
