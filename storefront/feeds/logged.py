"""The service's event log read as contract events, and stacked with the events feed.

The events feed is what the shop exported; the service's event log (``serving.events``,
``state/serving/events.db`` by default) holds what the storefront posted to ``POST
/events``. An event may be in both: stacked, each ``event_id`` is kept once, the feed's
copy first. Read only: nothing here writes to the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from storefront.feeds.forms import polars_schema, with_optional
from storefront.feeds.schemas import EVENTS
from storefront.workspace import Workspace

log = logging.getLogger(__name__)

EVENT_LOG_TABLE = "events"
"""The service's event log table (``serving.events``); its columns are the feed
contract's, plus ``received_at``."""
OPTIONAL = ("request_id", "order_id", "return_reason")


def empty_events() -> pl.DataFrame:
    """An events frame with no rows (the contract's columns and types)."""
    return pl.DataFrame(schema=polars_schema(EVENTS))


def contract_events(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with exactly the contract's event columns, in order (optional ones as
    typed nulls where absent)."""
    return with_optional(frame, EVENTS, *OPTIONAL).select(
        pl.col(name).cast(dtype) for name, dtype in polars_schema(EVENTS).items()
    )


def combine_events(feed: pl.DataFrame, logged: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The feed's events and the service's, each ``event_id`` once (the feed's copy
    wins); returns the events and how many ids both held."""
    feed, logged = contract_events(feed), contract_events(logged)
    both = int(logged["event_id"].is_in(feed["event_id"].implode()).sum())
    combined = pl.concat([feed, logged]).unique("event_id", keep="first", maintain_order=True)
    return combined, both


def default_events_url(data_dir: Path) -> str:
    """The service's embedded event log of a shop (``state/serving/events.db``)."""
    return f"sqlite:///{Workspace(data_dir).event_log}"


def _utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC"))
    return frame.with_columns(pl.col(column).dt.convert_time_zone("UTC"))


def logged_events(url: str | None) -> tuple[pl.DataFrame, dt.datetime | None, str | None]:
    """The service's event log as an events frame (read only).

    Args:
        url: The log's SQLAlchemy URL (``None``: no log).

    Returns:
        The events, when the service last received one, and why nothing was read
        (``None`` when the log was read, even if empty).
    """
    if url is None:
        return empty_events(), None, "no service event log configured"
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return empty_events(), None, "the service has logged no events yet"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(EVENT_LOG_TABLE):
                return empty_events(), None, "the service has logged no events yet"
            table = sa.Table(EVENT_LOG_TABLE, sa.MetaData(), autoload_with=conn)
            names = [c for c in EVENTS.column_names if c in table.c]
            rows = conn.execute(sa.select(*(table.c[c] for c in names))).all()
            received = conn.execute(sa.select(sa.func.max(table.c.received_at))).scalar()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("the service's event log %s could not be read: %s", engine.url, exc)
        return empty_events(), None, f"the service's event log could not be read ({exc})"
    finally:
        engine.dispose()
    schema = polars_schema(EVENTS)
    frame = pl.DataFrame(
        [tuple(r) for r in rows], schema={c: schema[c] for c in names}, orient="row"
    )
    if isinstance(received, str):  # SQLite without declared types hands back text
        received = dt.datetime.fromisoformat(received)
    if isinstance(received, dt.datetime) and received.tzinfo is None:
        received = received.replace(tzinfo=dt.UTC)
    return contract_events(_utc(frame, "timestamp")), received, None
