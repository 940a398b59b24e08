"""Pricing: propose a day's prices; approve, reject, set by hand, roll back and read the
price ledger. Every write goes through the ledger's actions, guardrails included."""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from jobs.shop import open_shop, require_feeds
from storefront.config import load_config
from storefront.progress import progress_bar
from training.pricing.guardrails import GuardrailError

if TYPE_CHECKING:
    from training.pricing.actions import LedgerResult
    from training.pricing.proposals import ProposalSet

__all__ = ["GuardrailError", "ProposalJob", "approval_diff", "approve", "approve_items",
           "history", "latest_proposal", "propose", "reject", "rollback",
           "set_price"]  # fmt: skip


PROPOSE_NEEDS = {
    "catalog": "the items to price",
    "events": "the guardrails read each item's stock and 30-day lowest price from the item "
    "features, which are built from events",
}


@dataclass(frozen=True)
class ProposalJob:
    """A proposal, its summary tables and where its HTML report is."""

    proposal: ProposalSet
    summary: pl.DataFrame
    held_back: pl.DataFrame
    report_path: Path

    @property
    def proposal_id(self) -> str:
        """The proposal's id (for approve / reject)."""
        return self.proposal.proposal_id

    @property
    def status(self) -> str:
        """``proposed``, ``published`` (auto-approved) or ``rejected``."""
        return str(self.proposal.meta["status"])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _who(by: str | None) -> str:
    return by or getpass.getuser()


def first_forecast_day(data_dir: Path) -> dt.date:
    """The first day the demand forecasts cover (the default day to price)."""
    from training.demand.forecast import read_forecasts

    first = read_forecasts(data_dir)["period_start"].min()
    assert isinstance(first, dt.date)
    return first


def propose(
    data_dir: Path | None, date: dt.date | None = None, config: Path | None = None
) -> ProposalJob:
    """Propose each item's price for a day (default: the first forecast day) under the
    guardrails, and write the proposal with its HTML report."""
    from training.pricing.config import PricingConfig
    from training.pricing.pipeline import propose_prices
    from training.pricing.report import reason_counts, summary, write_report

    folder = open_shop(data_dir)
    cfg = load_config(PricingConfig, config, name="pricing")
    require_feeds(folder, "price propose", PROPOSE_NEEDS)
    day = date or first_forecast_day(folder)
    with progress_bar(f"proposing prices for {day}", None):
        proposal = propose_prices(folder, day, cfg)
    with progress_bar("writing the report", None):
        report = write_report(proposal, folder, cfg)
    return ProposalJob(proposal, summary(proposal.table), reason_counts(proposal.table), report)


def approve(
    proposal_id: str,
    data_dir: Path | None,
    by: str | None = None,
    valid_from: dt.datetime | None = None,
) -> LedgerResult:
    """Publish a proposal's prices into the ledger (default from the proposal's day)."""
    from training.pricing.actions import approve as run

    return run(open_shop(data_dir), proposal_id, _who(by), _now(), valid_from)


def reject(
    proposal_id: str, reason: str, data_dir: Path | None, by: str | None = None
) -> LedgerResult:
    """Record that a proposal is rejected; it can no longer be approved."""
    from training.pricing.actions import reject as run

    return run(open_shop(data_dir), proposal_id, _who(by), reason, _now())


def set_price(
    item_id: str,
    price: float,
    reason: str,
    data_dir: Path | None,
    by: str | None = None,
    valid_from: dt.datetime | None = None,
    config: Path | None = None,
) -> LedgerResult:
    """Set one item's price by hand within the guardrails.

    Raises:
        training.pricing.actions.GuardrailError: A guardrail refuses it (named);
            nothing is written.
    """
    from training.pricing.actions import set_price as run
    from training.pricing.config import PricingConfig

    cfg = load_config(PricingConfig, config, name="pricing")
    return run(open_shop(data_dir), item_id, price, _who(by), reason, _now(), cfg, valid_from)


def rollback(
    reason: str,
    data_dir: Path | None,
    to: str | None = None,
    at: dt.datetime | None = None,
    by: str | None = None,
    valid_from: dt.datetime | None = None,
) -> LedgerResult:
    """Restore the prices right after proposal ``to`` or in force at ``at``, as new
    ledger entries for every item touched since."""
    from training.pricing.rollback import rollback as run

    return run(open_shop(data_dir), _who(by), reason, _now(), to, at, valid_from)


def history(data_dir: Path | None, item: str | None = None) -> pl.DataFrame:
    """The price ledger, oldest first (one item's entries when ``item`` is given)."""
    from training.pricing.ledger import history as read

    return read(open_shop(data_dir), item)


def latest_proposal(data_dir: Path | None) -> ProposalSet | None:
    """The shop's most recently created proposal (``None``: none yet)."""
    import json

    from training.pricing.proposals import load, proposals_dir

    shop = open_shop(data_dir)
    made = [(json.loads(p.read_text()).get("created_at", ""), p.stem)
            for p in proposals_dir(shop).glob("*.json")]  # fmt: skip
    return load(shop, max(made)[1]) if made else None


def approval_diff(
    proposal_id: str, data_dir: Path | None, items: list[str] | None = None
) -> pl.DataFrame:
    """What approving a proposal (or ``items`` of it) changes against the prices in
    force now: item_id, category, in_force (the ledger's price, else the feed's),
    in_force_by (the ledger entry's kind and author; ``None``: the feed), price, change.

    Raises:
        FileNotFoundError: No such proposal.
        ValueError: An item the proposal does not price.
    """
    from training.pricing import actions
    from training.pricing.inputs import list_prices
    from training.pricing.ledger import prices_in_force
    from training.pricing.proposals import load

    folder = open_shop(data_dir)
    proposal = load(folder, proposal_id)
    rows = proposal.table if items is None else actions.selected(proposal, items)
    now = _now()
    ledger = prices_in_force(folder, now).select(
        "item_id", ledger_price="price", in_force_by=pl.format("{} by {}", "kind", "by")
    )
    return (
        rows.select("item_id", "category", "price")
        .join(ledger, on="item_id", how="left")
        .join(list_prices(folder, now), on="item_id", how="left")
        .select(
            "item_id", "category", in_force=pl.coalesce("ledger_price", "list_price"),
            in_force_by="in_force_by", price="price",
        )
        .with_columns(change=pl.col("price") / pl.col("in_force") - 1)
    )  # fmt: skip


def approve_items(
    proposal_id: str,
    items: list[str],
    data_dir: Path | None,
    by: str | None = None,
    valid_from: dt.datetime | None = None,
) -> LedgerResult:
    """Publish only ``items`` of a proposal, as :func:`approve` publishes all of them
    (from the proposal's day; from now once the proposal was published before).

    Raises:
        FileNotFoundError: No such proposal.
        ValueError: Rejected, an item not in it, those prices already in force, or
            nobody named.
    """
    from training.pricing import actions

    folder, stamp, who = open_shop(data_dir), _now(), _who(by)
    return actions.approve(folder, proposal_id, who, stamp, valid_from, items=items)
