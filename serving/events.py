"""The durable event log behind ``POST /events`` (SQLAlchemy Core: SQLite or Postgres).

A batch is validated against the feed contract (``storefront.feeds``), written in one
transaction and committed before the service answers, so every acknowledged event
survives a crash. Writes are idempotent on ``event_id`` (a replayed batch stores nothing
twice). SQLite runs in WAL mode with ``synchronous=FULL`` by default; the same code
serves Postgres in the scale profile.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from storefront.clock import Clock, SystemClock
from storefront.feeds import FeedValidationError, validate_frame
from storefront.feeds.forms import polars_schema, sqlalchemy_columns
from storefront.feeds.schemas import EVENTS

METADATA = sa.MetaData()
EVENTS_TABLE = sa.Table(
    "events",
    METADATA,
    # the feed contract's columns (event_id the primary key), then the service's own
    *sqlalchemy_columns(EVENTS, str_length=128, str_lengths={"event_type": 16}),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("pushed", sa.Boolean, nullable=False, default=False),
    sa.Index("events_user_type_time", "user_id", "event_type", "timestamp"),
)
COLUMNS = [c.name for c in EVENTS.columns]
log = logging.getLogger(__name__)


def add_missing_columns(engine: sa.Engine) -> list[str]:
    """Bring an events table created by an earlier version up to the contract's columns.

    The store is a user's data: a column the contract gained since (e.g. ``order_id``,
    ``return_reason``) is added with ``ALTER TABLE ... ADD COLUMN`` (logged), and every
    stored row keeps its values (the new column is null for them).

    Args:
        engine: The event database (SQLite or PostgreSQL), its ``events`` table created.

    Returns:
        The names of the columns added (empty when the table was up to date).

    Raises:
        RuntimeError: A missing column cannot be null, so old rows could not hold it.
    """
    present = {c["name"] for c in sa.inspect(engine).get_columns(EVENTS_TABLE.name)}
    missing = [c for c in EVENTS_TABLE.columns if c.name not in present]
    for column in missing:
        if not column.nullable:
            raise RuntimeError(
                f"the events table lacks the required column {column.name!r}; "
                "stored rows cannot be given a value for it"
            )
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as conn:
        for column in missing:
            sql_type = column.type.compile(dialect=engine.dialect)
            # PostgreSQL: another service instance may be adding the same column now
            guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
            conn.execute(
                sa.text(
                    f"ALTER TABLE {preparer.quote(EVENTS_TABLE.name)} "
                    f"ADD COLUMN {guard}{preparer.quote(column.name)} {sql_type}"
                )
            )
            log.info("event store: added column %s (%s) to the events table", column.name, sql_type)
    return [c.name for c in missing]


class InvalidEventError(ValueError):
    """A batch breaks the feed contract; nothing of it is stored.

    Attributes:
        field: The offending field as ``events.<row>.<column>``.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Stored:
    """What a batch write did: new events, replays of stored ones, and all ids."""

    accepted: list[str]
    duplicates: list[str]
    frame: pl.DataFrame
    """The new events, validated (for the online push)."""


@dataclass(frozen=True)
class Bounds:
    """What one event may carry beyond the feed contract's rules (``events.*`` settings).

    Attributes:
        max_quantity: Largest ``quantity``.
        max_unit_price: Largest ``unit_price`` (finite and > 0 is the contract's).
        max_age: How far before ``now`` a timestamp may be; ``None``: no limit.
    """

    max_quantity: int = 1000
    max_unit_price: float = 1e6
    max_age: dt.timedelta | None = dt.timedelta(days=400)

    @classmethod
    def of(cls, settings: Any) -> Bounds:
        """From the ``events`` settings (:class:`serving.config.EventsConfig`)."""
        return cls(
            settings.max_quantity,
            settings.max_unit_price,
            dt.timedelta(days=settings.max_age_days),
        )


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def check_bounds(
    rows: Sequence[dict[str, Any]],
    bounds: Bounds,
    now: dt.datetime | None = None,
    max_future: dt.timedelta | None = None,
) -> None:
    """The batch's numbers and timestamps within ``bounds``, on the raw rows (before a
    frame is built from them: a quantity past 64 bits must be a 422, not a 500).

    Raises:
        InvalidEventError: The first value out of bounds, naming ``events.<row>.<column>``.
    """
    earliest = latest = None
    if now is not None:
        earliest = now - bounds.max_age if bounds.max_age is not None else None
        latest = now + max_future if max_future is not None else None
    for row, event in enumerate(rows):
        quantity = event.get("quantity")
        if isinstance(quantity, int) and not 1 <= quantity <= bounds.max_quantity:
            raise InvalidEventError(
                f"events.{row}.quantity",
                f"must be from 1 to {bounds.max_quantity} (events.max_quantity)",
            )
        price = _number(event.get("unit_price"))
        if event.get("unit_price") is not None and (
            price is None or not math.isfinite(price) or not 0 < price <= bounds.max_unit_price
        ):
            raise InvalidEventError(
                f"events.{row}.unit_price",
                f"must be a finite number > 0 and <= {bounds.max_unit_price:g} "
                "(events.max_unit_price)",
            )
        stamp = event.get("timestamp")
        if not isinstance(stamp, dt.datetime) or stamp.tzinfo is None:
            continue  # the contract's own check names it
        try:
            utc_stamp = stamp.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise InvalidEventError(f"events.{row}.timestamp", "out of range") from None
        if earliest is not None and utc_stamp < earliest:
            raise InvalidEventError(
                f"events.{row}.timestamp",
                f"{utc_stamp.isoformat()} is older than {bounds.max_age} before the service's "
                f"{now.isoformat()} (events.max_age_days)",  # type: ignore[union-attr]
            )
        if latest is not None and utc_stamp > latest:
            raise InvalidEventError(
                f"events.{row}.timestamp",
                f"{utc_stamp.isoformat()} is in the future (more than "
                f"{max_future.total_seconds():g} s after the service's "  # type: ignore[union-attr]
                f"{now.isoformat()})",  # type: ignore[union-attr]
            )


def validate_events(
    rows: Sequence[dict[str, Any]],
    known_items: set[str] | None,
    now: dt.datetime | None = None,
    max_future: dt.timedelta | None = None,
    bounds: Bounds | None = None,
) -> pl.DataFrame:
    """The batch as a validated events frame (the feed contract's rules, in full).

    Args:
        rows: The events, as the request carried them.
        known_items: The catalogue's item ids (``None``: any item).
        now: Business time of the request (the service's clock); with ``max_future``,
            an event stamped later than ``now + max_future`` is refused, with
            ``bounds.max_age`` one stamped earlier than ``now - max_age``.
        max_future: How far ahead of ``now`` a timestamp may be (clock skew between the
            shop's devices and the service); ``None``: no limit.
        bounds: Largest quantity and unit price, oldest timestamp; checked on the raw
            rows before anything is built from them (``None``: the defaults of
            :class:`Bounds`).

    Raises:
        InvalidEventError: The first broken rule, naming ``events.<row>.<column>``.
    """
    check_bounds(rows, bounds or Bounds(), now, max_future)
    try:
        frame = pl.DataFrame(
            [{c: row.get(c) for c in COLUMNS} for row in rows],
            schema=polars_schema(EVENTS),
        )
    except Exception as exc:  # a value no column can hold: the batch's fault, not ours
        raise InvalidEventError(
            "events", f"a value does not fit its column ({type(exc).__name__})"
        ) from None
    try:
        frame = validate_frame(EVENTS, frame, file="events")
    except FeedValidationError as exc:
        where = f"events.{exc.row}.{exc.column}" if exc.row is not None else "events"
        raise InvalidEventError(where, exc.reason) from exc
    if known_items is not None:
        unknown = [i for i, item in enumerate(frame["item_id"]) if item not in known_items]
        if unknown:
            item = frame["item_id"][unknown[0]]
            raise InvalidEventError(
                f"events.{unknown[0]}.item_id", f"item {item!r} is not in the catalog"
            )
    return frame


PRICED_EVENTS = ("purchase", "add_to_cart")
"""Event types whose ``unit_price`` must be the price the service quotes (a return's is
the amount refunded, not a quote)."""
Quote = Callable[[list[str], dt.datetime], dict[str, set[float]]]
"""``quote(item_ids, at) -> item -> prices``: the prices ``/price`` may answer for the
item at ``at`` (the ledger's or feed price; a pricing experiment's arms; items without a
price left out)."""


def check_prices(frame: pl.DataFrame, quote: Quote, tolerance: float) -> None:
    """Purchases and add-to-carts at the price the service quotes for the item at the
    event's moment, within ``tolerance`` (relative): a forged price is refused.

    Items the service has no price for are not checked (there is nothing to compare), nor
    are views or returns (a return's ``unit_price`` is the refund per unit, which follows
    the price once paid, not today's quote).

    Raises:
        InvalidEventError: The first forged price, naming ``events.<row>.unit_price``.
    """
    priced = frame.with_row_index("row").filter(
        pl.col("event_type").is_in(PRICED_EVENTS) & pl.col("unit_price").is_not_null()
    )
    if priced.is_empty():
        return
    for (at,), group in priced.group_by(["timestamp"], maintain_order=True):
        quoted = quote(group["item_id"].unique().to_list(), at)
        for row, item, price in group.select("row", "item_id", "unit_price").iter_rows():
            expected = quoted.get(item)
            if expected and not any(abs(price - q) <= tolerance * q for q in expected):
                said = " or ".join(f"{q:g}" for q in sorted(expected))
                raise InvalidEventError(
                    f"events.{row}.unit_price",
                    f"{price:g} is not the price of {item!r} at {at.isoformat()} "
                    f"(the service quotes {said}; events.price_tolerance {tolerance:g})",
                )


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return on_connect


class EventStore:
    """Append-only, idempotent event log.

    Args:
        url: SQLAlchemy database URL (``sqlite:///...`` or ``postgresql+psycopg://...``).
        sqlite_synchronous: SQLite's ``synchronous`` pragma (FULL: durable on power loss).
        clock: Stamps ``received_at`` (default the wall clock).
    """

    def __init__(
        self, url: str, sqlite_synchronous: str = "FULL", clock: Clock | None = None
    ) -> None:
        self.url = url
        self.clock: Clock = clock or SystemClock()
        # hide_parameters: an error's message never carries the events' user ids to a log
        self.engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            sa.event.listen(self.engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        METADATA.create_all(self.engine)
        self.added_columns = add_missing_columns(self.engine)
        self._lock = threading.Lock()  # one writer per process; SQLite serialises anyway

    def _insert(self) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(EVENTS_TABLE)
        if self.dialect == "sqlite":
            return sqlite.insert(EVENTS_TABLE)
        raise ValueError(f"unsupported event database {self.dialect!r} (sqlite or postgresql)")

    def append(self, frame: pl.DataFrame) -> Stored:
        """Store validated events, committed before returning; replays are skipped.

        Returns:
            Which ids were new and which were already stored.
        """
        now = self.clock.now()
        rows = [{**r, "received_at": now, "pushed": False} for r in frame.to_dicts()]
        ids = frame["event_id"].to_list()
        statement = self._insert().on_conflict_do_nothing(index_elements=["event_id"])
        statement = statement.returning(EVENTS_TABLE.c.event_id)
        with self._lock, self.engine.begin() as conn:
            inserted = (
                {row[0] for row in conn.execute(statement, rows).fetchall()} if rows else set()
            )
        accepted = [i for i in ids if i in inserted]
        duplicates = [i for i in ids if i not in inserted]
        return Stored(accepted, duplicates, frame.filter(pl.col("event_id").is_in(accepted)))

    def mark_pushed(self, event_ids: list[str]) -> None:
        """Record that these events reached the online store."""
        if not event_ids:
            return
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                EVENTS_TABLE.update()
                .where(EVENTS_TABLE.c.event_id.in_(event_ids))
                .values(pushed=True)
            )

    def recent_purchases(self, user_id: str, since: dt.datetime) -> list[str]:
        """Items the shopper bought since ``since`` (received through the service)."""
        query = sa.select(EVENTS_TABLE.c.item_id).where(
            EVENTS_TABLE.c.user_id == user_id,
            EVENTS_TABLE.c.event_type == "purchase",
            EVENTS_TABLE.c.timestamp >= since,
        )
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def count(self, pushed: bool | None = None) -> int:
        """Events stored (optionally only those pushed / not pushed online)."""
        query = sa.select(sa.func.count()).select_from(EVENTS_TABLE)
        if pushed is not None:
            query = query.where(EVENTS_TABLE.c.pushed == pushed)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def ids(self) -> set[str]:
        """Every stored event id."""
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(sa.select(EVENTS_TABLE.c.event_id))}

    def unpushed(
        self,
        limit: int = 500,
        received_before: dt.datetime | None = None,
        event_ids: list[str] | None = None,
    ) -> pl.DataFrame:
        """Stored events not yet pushed online, oldest first (a batch of ``limit``), as
        an events frame (the feed contract's columns).

        Args:
            limit: Largest batch.
            received_before: Only events received before this (the request path pushes
                the newest itself).
            event_ids: Only these events.
        """
        query = sa.select(*(EVENTS_TABLE.c[c] for c in COLUMNS)).where(
            EVENTS_TABLE.c.pushed == sa.false()
        )
        if received_before is not None:
            query = query.where(EVENTS_TABLE.c.received_at < received_before)
        if event_ids is not None:
            query = query.where(EVENTS_TABLE.c.event_id.in_(event_ids))
        query = query.order_by(EVENTS_TABLE.c.received_at, EVENTS_TABLE.c.event_id).limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(zip(COLUMNS, row, strict=True)) for row in conn.execute(query)]
        frame = pl.DataFrame(rows, schema=polars_schema(EVENTS), orient="row") if rows else None
        if frame is None:
            return pl.DataFrame(schema=polars_schema(EVENTS))
        if frame["timestamp"].dtype.time_zone is None:  # type: ignore[attr-defined]
            frame = frame.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
        return frame

    def received_since(self, since: dt.datetime, limit: int = 100_000) -> list[tuple[Any, ...]]:
        """``(event_id, user_id, session_id, item_id, event_type, timestamp,
        received_at)`` of the events received at or after ``since``, oldest first (at
        most ``limit``); for :class:`serving.activity.RecentActivity`."""
        c = EVENTS_TABLE.c
        query = (
            sa.select(c.event_id, c.user_id, c.session_id, c.item_id, c.event_type,
                      c.timestamp, c.received_at)
            .where(c.received_at >= since)
            .order_by(c.received_at, c.event_id)
            .limit(limit)
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def pushed_ids(self, event_ids: list[str]) -> set[str]:
        """Those of ``event_ids`` stored and pushed online."""
        if not event_ids:
            return set()
        query = sa.select(EVENTS_TABLE.c.event_id).where(
            EVENTS_TABLE.c.event_id.in_(event_ids), EVENTS_TABLE.c.pushed == sa.true()
        )
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(query)}

    def close(self) -> None:
        self.engine.dispose()
