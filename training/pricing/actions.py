"""What the pricing team does to the price ledger: approve or reject a proposal, set one
item's price by hand, roll prices back.

Each function checks first and writes ledger entries only when every check passes
(a refusal writes nothing), then returns the entries it wrote; the CLI only parses and
prints. Times are time-zone aware; callers pass ``now`` (the CLI its clock).

A proposal is approved once; approving it again is a new publication (in force from
now) only when later entries replaced some of its prices, and refused while all of them
are still in force. A rejected proposal can never be approved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from training.pricing import ledger
from training.pricing.config import PricingConfig
from training.pricing.guardrails import GuardrailError, ItemState, explain, manual_violations
from training.pricing.inputs import item_states, list_prices
from training.pricing.pipeline import item_state
from training.pricing.proposals import PUBLISHED, ProposalSet, load, save

REJECTED = "rejected"


@dataclass(frozen=True)
class LedgerResult:
    """What one action wrote.

    Attributes:
        kind: The entries' kind (see :data:`training.pricing.ledger.KINDS`).
        entries: The entries appended (empty: nothing to do).
        note: One line for the user.
    """

    kind: str
    entries: pl.DataFrame
    note: str


def _day_start(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(), dt.UTC)


def _with_previous(entries: pl.DataFrame, rows: pl.DataFrame, at: dt.datetime) -> pl.DataFrame:
    """``rows`` with previous_price: the ledger's price in force at ``at``, else the
    row's ``current_price`` when it has one (the list price the proposal saw)."""
    before = ledger.in_force(entries, at).select("item_id", previous_price="price")
    joined = rows.join(before, on="item_id", how="left")
    if "current_price" in rows.columns:
        joined = joined.with_columns(previous_price=pl.coalesce("previous_price", "current_price"))
    return joined.drop("current_price", strict=False)


def publish(
    data_dir: Path,
    rows: pl.DataFrame,
    proposal_id: str,
    by: str,
    now: dt.datetime,
    valid_from: dt.datetime | None = None,
) -> LedgerResult:
    """Append ``publish`` entries for ``rows`` (item_id, price, was_price, reasons and
    optionally current_price, the price before them when the ledger has none).

    Raises:
        ValueError: Nobody named, a price not positive, or a naive time.
    """
    stamp = ledger.utc(now, "now")
    start = ledger.utc(valid_from, "valid_from") if valid_from else stamp
    prices = _with_previous(ledger.read_ledger(data_dir), rows, start)
    entries = ledger.new_entries(
        ledger.PUBLISH,
        prices.with_columns(valid_from=pl.lit(start).cast(ledger.UTC_TYPE)),
        by,
        stamp,
        proposal_id=proposal_id,
    )
    ledger.append(data_dir, entries)
    note = f"published {entries.height:,} prices of {proposal_id}, approved by {by}, from {start}"
    return LedgerResult(ledger.PUBLISH, entries, note)


def _refuse_rejected(entries: pl.DataFrame, proposal_id: str) -> None:
    found = ledger.rejection(entries, proposal_id)
    if found:
        raise ValueError(
            f"proposal: {proposal_id} was rejected by {found['by']} at {found['at']} "
            f"({found['why']}); it cannot be approved — propose again"
        )


def _approval_start(
    entries: pl.DataFrame,
    table: pl.DataFrame,
    proposal_id: str,
    day_start: dt.datetime,
    now: dt.datetime,
    valid_from: dt.datetime | None,
) -> dt.datetime:
    """When an approval takes effect: ``valid_from``, else the proposal's day — or, for
    a proposal published before, now (refused while all its prices are in force)."""
    earlier = ledger.publications(entries, proposal_id)
    if earlier.is_empty():
        return ledger.utc(valid_from, "valid_from") if valid_from else day_start
    start = ledger.utc(valid_from, "valid_from") if valid_from else max(now, day_start)
    current = ledger.in_force(entries, start).select("item_id", "price", "proposal_id")
    same = table.select("item_id", "price").join(current, on=["item_id", "price"], how="left")
    if same["proposal_id"].is_not_null().all():
        last = earlier.row(-1, named=True)
        raise ValueError(
            f"proposal: {proposal_id} was already published by {last['by']} at {last['at']} "
            f"and all its prices are in force at {start}; nothing to publish"
        )
    return start


def selected(proposal: ProposalSet, items: list[str]) -> pl.DataFrame:
    """The proposal's rows of ``items``.

    Raises:
        ValueError: No item named, or one the proposal does not price.
    """
    if not items:
        raise ValueError("items: name at least one item of the proposal")
    unknown = sorted(set(items) - set(proposal.table["item_id"]))
    if unknown:
        raise ValueError(f"items: {', '.join(unknown[:5])} not in proposal {proposal.proposal_id}")
    return proposal.table.filter(pl.col("item_id").is_in(items))


def approve(
    data_dir: Path,
    proposal_id: str,
    by: str,
    now: dt.datetime,
    valid_from: dt.datetime | None = None,
    items: list[str] | None = None,
) -> LedgerResult:
    """Publish a proposal's prices (only those of ``items`` when given), in force from
    ``valid_from`` (default: the start of the proposal's day; for a re-approval, now).

    Raises:
        FileNotFoundError: No such proposal.
        ValueError: Rejected, already in force, nobody named, or a naive time.
    """
    stamp = ledger.utc(now, "now")
    proposal = load(data_dir, proposal_id)
    entries = ledger.read_ledger(data_dir)
    _refuse_rejected(entries, proposal_id)
    rows = proposal.table if items is None else selected(proposal, items)
    table = rows.select("item_id", "price", "was_price", "reasons", "current_price")
    day_start = _day_start(proposal.date)
    start = _approval_start(entries, table, proposal_id, day_start, stamp, valid_from)
    result = publish(data_dir, table, proposal_id, by, stamp, start)
    proposal.meta |= {"status": PUBLISHED, "approved_by": by, "approved_at": stamp.isoformat()}
    if items is not None:
        proposal.meta["approved_items"] = table.height
    save(proposal, data_dir)
    return result


def reject(data_dir: Path, proposal_id: str, by: str, why: str, now: dt.datetime) -> LedgerResult:
    """Record that a proposal is rejected; it can no longer be approved.

    Raises:
        FileNotFoundError: No such proposal.
        ValueError: Already rejected or published, no reason, nobody named.
    """
    proposal = load(data_dir, proposal_id)
    entries = ledger.read_ledger(data_dir)
    found = ledger.rejection(entries, proposal_id)
    if found:
        raise ValueError(f"proposal: {proposal_id} was already rejected by {found['by']}")
    published = ledger.publications(entries, proposal_id)
    if published.height:
        last = published.row(-1, named=True)
        raise ValueError(
            f"proposal: {proposal_id} was published by {last['by']} at {last['at']}; "
            "undo its prices with `storefront price rollback` instead"
        )
    entry = ledger.reject_entry(proposal_id, by, now, why)
    ledger.append(data_dir, entry)
    proposal.meta |= {"status": REJECTED, "rejected_by": by, "rejected_because": why}
    save(proposal, data_dir)
    return LedgerResult(ledger.REJECT, entry, f"rejected {proposal_id} ({why}), by {by}")


def _price_at(data_dir: Path, entries: pl.DataFrame, item_id: str, at: dt.datetime) -> float:
    """The item's price at ``at``: the ledger's, else the feed's list price."""
    found = ledger.in_force(entries, at).filter(pl.col("item_id") == item_id)
    if found.height:
        return float(found["price"][0])
    listed = list_prices(data_dir, at).filter(pl.col("item_id") == item_id)
    return float(listed["list_price"][0])


def item_state_at(data_dir: Path, item_id: str, at: dt.datetime) -> ItemState:
    """What the guardrails see of ``item_id`` at ``at`` (current price: the one in
    force then).

    Raises:
        ValueError: The item is not in the catalogue, or has no state.
    """
    states = item_states(data_dir, at.date()).filter(pl.col("item_id") == item_id)
    if states.is_empty():
        raise ValueError(
            f"item: no item {item_id!r} with a price in the catalogue and prices feed of {data_dir}"
        )
    current = _price_at(data_dir, ledger.read_ledger(data_dir), item_id, at)
    return replace(item_state(states.row(0, named=True)), current_price=current)


def set_price(
    data_dir: Path,
    item_id: str,
    price: float,
    by: str,
    why: str,
    now: dt.datetime,
    cfg: PricingConfig,
    valid_from: dt.datetime | None = None,
) -> LedgerResult:
    """Set one item's price by hand (an ``override``), within the guardrails.

    Raises:
        GuardrailError: The price breaks a guardrail (the message names each).
        ValueError: Unknown item, no reason, nobody named, or a naive time.
    """
    stamp = ledger.utc(now, "now")
    start = ledger.utc(valid_from, "valid_from") if valid_from else stamp
    state = item_state_at(data_dir, item_id, start)
    broken = manual_violations(price, state, cfg)
    if broken:
        raise GuardrailError(broken, "; ".join(explain(r, price, state, cfg) for r in broken))
    row = pl.DataFrame(
        {"item_id": [item_id], "price": [price], "previous_price": [state.current_price],
         "was_price": [state.lowest_price_30d], "valid_from": [start]},
        schema_overrides={"valid_from": ledger.UTC_TYPE, "was_price": pl.Float64},
    )  # fmt: skip
    entries = ledger.new_entries(ledger.OVERRIDE, row, by, stamp, why)
    ledger.append(data_dir, entries)
    note = f"set {item_id} to {price:.2f} (was {state.current_price:.2f}) from {start}, by {by}"
    return LedgerResult(ledger.OVERRIDE, entries, note)
