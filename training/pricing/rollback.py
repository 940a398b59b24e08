"""Roll prices back to an earlier point of the ledger, by appending ``rollback`` entries.

The point is either a proposal's latest publication (the prices in force right after
it took effect, as the ledger stood then) or a moment (the prices in force then, as the
ledger stood then). Every item the ledger touched since gets that price back — its
feed list price when the ledger had none for it then — from ``valid_from`` on, and again
at each later ``valid_from`` still pending for it, so no price approved for the future
returns after the rollback. Rollbacks restore prices that were once in force and are
not checked against the guardrails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from training.pricing import ledger
from training.pricing.actions import LedgerResult
from training.pricing.inputs import list_prices


@dataclass(frozen=True)
class Point:
    """A point of the ledger to roll back to.

    Attributes:
        known: Which entries were written by then (a mask over the ledger).
        moment: When the prices are read.
        label: How the user named it.
    """

    known: pl.Series
    moment: dt.datetime
    label: str


def proposal_point(entries: pl.DataFrame, proposal_id: str) -> Point:
    """Right after the latest publication of ``proposal_id`` took effect.

    Raises:
        ValueError: The proposal was never published.
    """
    published = ledger.publications(entries, proposal_id)
    if published.is_empty():
        raise ValueError(f"to: proposal {proposal_id} was never published; nothing to restore")
    batch = published.filter(pl.col("at") == published["at"].max())
    moment = max(batch["valid_from"].max(), batch["at"].max())
    order = pl.int_range(entries.height, eager=True)
    return Point(order <= batch["order"].max(), moment, f"proposal {proposal_id}")


def time_point(entries: pl.DataFrame, at: dt.datetime) -> Point:
    """The prices in force at ``at`` as the ledger stood then."""
    moment = ledger.utc(at, "at")
    return Point(entries["at"] <= moment, moment, moment.isoformat())


def touched(entries: pl.DataFrame, point: Point) -> list[str]:
    """Items with an entry written after ``point``, or taking effect after it."""
    later = entries.filter(~point.known | (pl.col("valid_from") > point.moment))
    items = later.filter(pl.col("kind") != ledger.REJECT)["item_id"].drop_nulls()
    return sorted(items.unique())


def _targets(data_dir: Path, entries: pl.DataFrame, point: Point, items: list[str],
             at: dt.datetime) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Item → the price to restore (with was_price, reasons, proposal_id).

    Raises:
        ValueError: An item with neither a ledger price then nor a feed price now.
    """
    then = ledger.in_force(entries.filter(point.known), point.moment)
    found = {r["item_id"]: r for r in then.iter_rows(named=True) if r["item_id"] in items}
    missing = [i for i in items if i not in found]
    if missing:
        listed = dict(list_prices(data_dir, at).iter_rows())
        unknown = [i for i in missing if listed.get(i) is None]
        if unknown:
            raise ValueError(f"rollback: no feed price for {', '.join(unknown[:5])}")
        found |= {i: {"price": listed[i], "was_price": None, "reasons": [],
                      "proposal_id": None} for i in missing}  # fmt: skip
    return found


def _moments(entries: pl.DataFrame, item_id: str, start: dt.datetime) -> list[dt.datetime]:
    """``start`` and every later ``valid_from`` the item has pending."""
    mine = entries.filter((pl.col("item_id") == item_id) & (pl.col("valid_from") > start))
    return [start, *sorted(set(mine["valid_from"]))]


def rollback_rows(data_dir: Path, entries: pl.DataFrame, point: Point,
                  start: dt.datetime) -> pl.DataFrame:  # fmt: skip
    """The rows restoring ``point``'s prices from ``start`` (none where the price in
    force is already the one to restore)."""
    items = touched(entries, point)
    targets = _targets(data_dir, entries, point, items, start)
    current: dict[dt.datetime, dict[str, float]] = {}
    listed: dict[str, float] = {}
    rows = []
    for item in items:
        target = targets[item]
        for moment in _moments(entries, item, start):
            if moment not in current:
                now = ledger.in_force(entries, moment).select("item_id", "price")
                current[moment] = dict(now.iter_rows())
            before = current[moment].get(item)
            if before is None:
                listed = listed or dict(list_prices(data_dir, start).iter_rows())
                before = listed.get(item)
            if before == target["price"]:
                continue
            rows.append({"item_id": item, "price": target["price"], "previous_price": before,
                         "was_price": target["was_price"], "reasons": target["reasons"] or [],
                         "proposal_id": target["proposal_id"], "valid_from": moment})  # fmt: skip
    schema = {k: ledger.SCHEMA[k] for k in ("item_id", "price", "previous_price", "was_price",
              "reasons", "proposal_id", "valid_from")}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def rollback(
    data_dir: Path,
    by: str,
    why: str,
    now: dt.datetime,
    to_proposal: str | None = None,
    to_time: dt.datetime | None = None,
    valid_from: dt.datetime | None = None,
) -> LedgerResult:
    """Restore the prices of a proposal (``to_proposal``) or a moment (``to_time``).

    Raises:
        ValueError: Neither or both points given, a proposal never published, no
            reason, nobody named, or a naive time.
    """
    if (to_proposal is None) == (to_time is None):
        raise ValueError("rollback: give exactly one of --to PROPOSAL or --at TIME")
    if not why.strip():
        raise ValueError("why: a rollback needs a reason (--reason)")
    stamp = ledger.utc(now, "now")
    start = ledger.utc(valid_from, "valid_from") if valid_from else stamp
    entries = ledger.read_ledger(data_dir)
    if to_proposal is not None:
        point = proposal_point(entries, to_proposal)
    else:
        point = time_point(entries, to_time)
    rows = rollback_rows(data_dir, entries, point, start)
    written = ledger.new_entries(ledger.ROLLBACK, rows, by, stamp, why)
    ledger.append(data_dir, written)
    items = written["item_id"].n_unique()
    note = (
        f"rolled back {items:,} items to {point.label} from {start}, by {by}"
        if items
        else f"nothing to roll back: every item already has its price of {point.label}"
    )
    return LedgerResult(ledger.ROLLBACK, written, note)
