"""The price ledger: the one owner of published prices.

Every change to what the shop charges is an entry appended to the ledger, never an edit:
``publish`` (a proposal approved), ``rollback`` (earlier prices restored), ``override``
(one item's price set by hand) and ``reject`` (a proposal refused; it sets no price).
Each append is a new part file in :func:`ledger_path` (written to a temporary file, then
linked under a name no other part has), so the bytes of earlier entries are never
touched. The price of an item at a moment is the entry with the latest ``valid_from`` at
or before it (ties: the later written); :func:`prices_in_force` is the only reader of
that rule, for serving, proposals and rollbacks alike.

Rows of the first storage (``published.parquet`` beside the ledger) are read as
``publish`` entries written before every part; that file is never written again.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from pathlib import Path

import polars as pl

from storefront.workspace import workspace

PUBLISH, ROLLBACK, OVERRIDE, REJECT = "publish", "rollback", "override", "reject"
KINDS = (PUBLISH, ROLLBACK, OVERRIDE, REJECT)
LEDGER_DIR = "ledger"
LEGACY_FILE = "published.parquet"
UTC_TYPE = pl.Datetime("us", "UTC")
SCHEMA: dict[str, pl.DataType] = {
    "entry_id": pl.String(),
    "kind": pl.String(),
    "item_id": pl.String(),
    "price": pl.Float64(),
    "previous_price": pl.Float64(),
    "was_price": pl.Float64(),
    "reasons": pl.List(pl.String()),
    "valid_from": UTC_TYPE,
    "proposal_id": pl.String(),
    "by": pl.String(),
    "at": UTC_TYPE,
    "why": pl.String(),
}
"""One entry: ``previous_price`` is the price in force for the item just before the
entry took effect; ``was_price`` the 30-day lowest (the lawful reference price); ``by``
who wrote it and ``at`` when (UTC); ``why`` the reason, required but for ``publish``."""


def ledger_path(data_dir: Path) -> Path:
    """The ledger's folder of part files (the only place that knows where it lives)."""
    return workspace(data_dir).pricing / LEDGER_DIR


def _legacy_path(data_dir: Path) -> Path:
    return ledger_path(data_dir).parent / LEGACY_FILE


def utc(moment: dt.datetime, what: str) -> dt.datetime:
    """``moment`` in UTC.

    Raises:
        ValueError: ``moment`` has no time zone (a naive time is ambiguous).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{what}: {moment.isoformat()} has no time zone; give one, "
            f"e.g. {moment.isoformat()}+00:00"
        )
    return moment.astimezone(dt.UTC)


def _legacy_entries(path: Path) -> pl.DataFrame:
    legacy = pl.read_parquet(path)
    return (
        legacy.with_row_index("n")
        .select(
            entry_id=pl.format("legacy-{}", pl.col("n")),
            kind=pl.lit(PUBLISH),
            item_id="item_id",
            price="price",
            previous_price=pl.lit(None, pl.Float64),
            was_price="was_price",
            reasons="reasons",
            valid_from="valid_from",
            proposal_id="proposal_id",
            by="approved_by",
            at="approved_at",
            why=pl.lit(None, pl.String),
        )
        .cast(SCHEMA)
    )


def _parts(data_dir: Path) -> list[Path]:
    folder = ledger_path(data_dir)
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def read_ledger(data_dir: Path) -> pl.DataFrame:
    """Every entry in the order written (empty with :data:`SCHEMA` when none)."""
    frames = [pl.DataFrame(schema=SCHEMA)]
    legacy = _legacy_path(data_dir)
    if legacy.exists():
        frames.append(_legacy_entries(legacy))
    frames += [pl.read_parquet(part).cast(SCHEMA) for part in _parts(data_dir)]
    return pl.concat(frames)


def ledger_version(data_dir: Path) -> tuple[object, ...]:
    """Changes whenever an entry is appended (for caches of :func:`read_ledger`)."""
    legacy = _legacy_path(data_dir)
    stat = legacy.stat() if legacy.exists() else None
    return (None if stat is None else (stat.st_mtime_ns, stat.st_size),
            *(p.name for p in _parts(data_dir)))  # fmt: skip


def _price_entries(entries: pl.DataFrame) -> pl.DataFrame:
    return entries.with_row_index("order").filter(
        (pl.col("kind") != REJECT) & pl.col("item_id").is_not_null()
    )


def in_force(entries: pl.DataFrame, at: dt.datetime) -> pl.DataFrame:
    """Each item's entry in force at ``at``: the latest ``valid_from`` at or before it,
    the later written on a tie; rejections set no price.

    Args:
        entries: Ledger entries in write order (:func:`read_ledger`, or a prefix of it).
        at: The moment (time-zone aware).

    Returns:
        One entry per item that has a price then, sorted by item_id.

    Raises:
        ValueError: ``at`` is naive.
    """
    moment = utc(at, "at")
    return (
        _price_entries(entries)
        .filter(pl.col("valid_from") <= moment)
        .sort("valid_from", "at", "order")
        .group_by("item_id", maintain_order=True)
        .last()
        .drop("order")
        .sort("item_id")
    )


def prices_in_force(data_dir: Path, at: dt.datetime) -> pl.DataFrame:
    """The ledger's price of every item that has one at ``at`` (see :func:`in_force`)."""
    return in_force(read_ledger(data_dir), at)


def unchanged_between(
    entries: pl.DataFrame, at: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The span ``[start, end)`` around ``at`` over which :func:`in_force` does not
    change (``None``: unbounded on that side)."""
    moment = utc(at, "at")
    starts = _price_entries(entries)["valid_from"]
    before, after = starts.filter(starts <= moment), starts.filter(starts > moment)
    return (before.max() if before.len() else None,
            after.min() if after.len() else None)  # fmt: skip


def rejection(entries: pl.DataFrame, proposal_id: str) -> dict[str, object] | None:
    """The entry that rejected ``proposal_id``, if any."""
    found = entries.filter((pl.col("kind") == REJECT) & (pl.col("proposal_id") == proposal_id))
    return found.row(0, named=True) if found.height else None


def publications(entries: pl.DataFrame, proposal_id: str) -> pl.DataFrame:
    """The ``publish`` entries of ``proposal_id`` with their position in the ledger."""
    return entries.with_row_index("order").filter(
        (pl.col("kind") == PUBLISH) & (pl.col("proposal_id") == proposal_id)
    )


def new_entries(
    kind: str,
    rows: pl.DataFrame,
    by: str,
    at: dt.datetime,
    why: str | None = None,
    proposal_id: str | None = None,
) -> pl.DataFrame:
    """Ledger entries for ``rows``.

    Args:
        kind: One of :data:`KINDS`.
        rows: item_id, price, previous_price, valid_from and optionally was_price,
            reasons and proposal_id (a per-row proposal; else ``proposal_id``).
        by: Who writes them.
        at: When they are written (time-zone aware).
        why: The reason (required for every kind but ``publish``).
        proposal_id: The proposal the entries belong to.

    Returns:
        The entries, with :data:`SCHEMA`, ready for :func:`append`.
    """
    defaults = {
        "was_price": pl.lit(None, pl.Float64),
        "reasons": pl.lit([], pl.List(pl.String)),
        "proposal_id": pl.lit(proposal_id, pl.String),
    }
    filled = rows.with_columns(v.alias(k) for k, v in defaults.items() if k not in rows.columns)
    return filled.select(
        entry_id=pl.Series([uuid.uuid4().hex for _ in range(rows.height)], dtype=pl.String),
        kind=pl.lit(kind, pl.String),
        item_id="item_id",
        price="price",
        previous_price="previous_price",
        was_price="was_price",
        reasons="reasons",
        valid_from="valid_from",
        proposal_id="proposal_id",
        by=pl.lit(by, pl.String),
        at=pl.lit(utc(at, "at")).cast(UTC_TYPE),
        why=pl.lit(why, pl.String),
    ).cast(SCHEMA)


def reject_entry(proposal_id: str, by: str, at: dt.datetime, why: str) -> pl.DataFrame:
    """The entry recording that ``proposal_id`` is rejected (it sets no price)."""
    row = pl.DataFrame(
        {"item_id": [None], "price": [None], "previous_price": [None],
         "valid_from": [utc(at, "at")]},
        schema={"item_id": pl.String, "price": pl.Float64, "previous_price": pl.Float64,
                "valid_from": UTC_TYPE},
    )  # fmt: skip
    return new_entries(REJECT, row, by, at, why, proposal_id)


def check(entries: pl.DataFrame) -> None:
    """Refuse entries the ledger must not hold.

    Raises:
        ValueError: Unknown kind, nobody named, no reason where one is required, a price
            entry without item or positive price, or a rejection that names an item.
    """
    if not set(entries["kind"].unique()) <= set(KINDS):
        raise ValueError(f"kind: every entry is one of {', '.join(KINDS)}")
    if entries.filter(pl.col("by").str.strip_chars().fill_null("") == "").height:
        raise ValueError("by: name who writes the entry")
    needs_why = entries.filter(pl.col("kind") != PUBLISH)
    if needs_why.filter(pl.col("why").str.strip_chars().fill_null("") == "").height:
        raise ValueError("why: a rollback, override or rejection needs a reason (--reason)")
    priced = entries.filter(pl.col("kind") != REJECT)
    if priced.filter(pl.col("item_id").is_null() | ~(pl.col("price") > 0)).height:
        raise ValueError("price: every price entry needs an item and a positive price")
    if entries.filter((pl.col("kind") == REJECT) & pl.col("item_id").is_not_null()).height:
        raise ValueError("item_id: a rejection sets no item's price")


def append(data_dir: Path, entries: pl.DataFrame) -> int:
    """Append ``entries`` as a new part of the ledger; earlier parts are never touched.

    Returns:
        The number of entries written.

    Raises:
        ValueError: See :func:`check`; nothing is written then.
    """
    entries = entries.select(list(SCHEMA)).cast(SCHEMA)
    check(entries)
    if entries.is_empty():
        return 0
    folder = ledger_path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, suffix=".parquet.tmp")
    os.close(handle)
    try:
        entries.write_parquet(tmp)
        _link_next(Path(tmp), folder)
    finally:
        os.unlink(tmp)
    return entries.height


def _link_next(tmp: Path, folder: Path) -> Path:
    """Give ``tmp`` the next free part name (a link fails, never overwrites, on a
    name another writer took first)."""
    number = len(list(folder.glob("*.parquet")))
    while True:
        target = folder / f"{number:08d}.parquet"
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            number += 1


def history(data_dir: Path, item_id: str | None = None, limit: int | None = None) -> pl.DataFrame:
    """The ledger's entries, oldest first: only ``item_id``'s when given, the last
    ``limit`` when given."""
    entries = read_ledger(data_dir)
    if item_id is not None:
        entries = entries.filter(pl.col("item_id") == item_id)
    return entries.tail(limit) if limit is not None else entries
