"""Pricing: propose a day's prices; approve, reject, set by hand, roll back and audit
through the price ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import DataDir, app, table, user_errors
from jobs import pricing

price_app = typer.Typer(help="Price proposals and the price ledger.", no_args_is_help=True)
app.add_typer(price_app, name="price")

PricingYaml = Annotated[
    Path | None, typer.Option("--config", help="Pricing YAML (default: configs/pricing.yaml).")
]
By = Annotated[str | None, typer.Option(help="Who does it (default: the current user).")]
ValidFrom = Annotated[
    str | None,
    typer.Option(help="When the price takes effect, ISO with time zone (default: now)."),
]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the ledger).")]


def print_proposal(job: pricing.ProposalJob, hint: bool = True) -> None:
    """The proposal's summary, what held prices back, and (``hint``) what to do next."""
    for title, frame in (("proposal", job.summary), ("held back by", job.held_back)):
        rows = [[f"{v:,}" if isinstance(v, int) else str(v) for v in row]
                for row in frame.iter_rows()]  # fmt: skip
        table(title, frame.columns, rows)
    typer.echo(f"proposal {job.proposal_id} ({job.status})")
    typer.echo(f"report: {job.report_path}")
    if hint and job.status != "published":
        typer.echo(f"publish it with: storefront price approve {job.proposal_id}")


def print_ledger(result: pricing.LedgerResult) -> None:
    """What a ledger action wrote."""
    typer.echo(result.note)


def _moment(text: str | None, what: str) -> dt.datetime | None:
    """An ISO time from the command line (a time zone is required by the ledger)."""
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{what}: {text!r} is not an ISO time, e.g. 2026-03-01T00:00+00:00"
        ) from exc


@price_app.command("propose")
@user_errors
def propose_command(
    data_dir: DataDir = None,
    date: Annotated[
        str | None,
        typer.Option(help="Day to price, YYYY-MM-DD (default: the first forecast day)."),
    ] = None,
    config: PricingYaml = None,
) -> None:
    """Propose each item's price for a day from forecast × elasticity under the
    guardrails; write the proposal and its HTML report (published at once only when
    ``auto_approve`` is set)."""
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError as exc:
        raise ValueError(f"date: {date!r} is not YYYY-MM-DD") from exc
    print_proposal(pricing.propose(data_dir, day, config))


@price_app.command("approve")
@user_errors
def approve_command(
    proposal: Annotated[str, typer.Argument(help="Proposal id (from `price propose`).")],
    data_dir: DataDir = None,
    by: By = None,
    valid_from: Annotated[
        str | None,
        typer.Option(
            help="When the prices take effect, ISO with time zone (default: the "
            "proposal's day; now for a re-approval)."
        ),
    ] = None,
) -> None:
    """Publish a proposal's prices into the price ledger; approving a published proposal
    again republishes it from now when later entries replaced some of its prices."""
    print_ledger(pricing.approve(proposal, data_dir, by, _moment(valid_from, "valid_from")))


@price_app.command("reject")
@user_errors
def reject_command(
    proposal: Annotated[str, typer.Argument(help="Proposal id (from `price propose`).")],
    reason: Reason,
    data_dir: DataDir = None,
    by: By = None,
) -> None:
    """Record that a proposal is rejected; it can no longer be approved."""
    print_ledger(pricing.reject(proposal, reason, data_dir, by))


@price_app.command("set")
@user_errors
def set_command(
    item: Annotated[str, typer.Argument(help="Item id.")],
    price: Annotated[float, typer.Argument(help="The new price.")],
    reason: Reason,
    data_dir: DataDir = None,
    by: By = None,
    valid_from: ValidFrom = None,
    config: PricingYaml = None,
) -> None:
    """Set one item's price by hand, within the guardrails (refused, nothing written,
    naming each guardrail it breaks)."""
    when = _moment(valid_from, "valid_from")
    try:
        result = pricing.set_price(item, price, reason, data_dir, by, when, config)
    except pricing.GuardrailError as exc:
        typer.echo(f"refused: {exc}")
        typer.echo("nothing was written")
        raise typer.Exit(code=1) from exc
    print_ledger(result)


@price_app.command("rollback")
@user_errors
def rollback_command(
    reason: Reason,
    to: Annotated[
        str | None, typer.Option("--to", help="Restore the prices right after this proposal.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Restore the prices in force at this ISO time.")
    ] = None,
    data_dir: DataDir = None,
    by: By = None,
    valid_from: ValidFrom = None,
) -> None:
    """Restore earlier prices by appending rollback entries for every item the ledger
    touched since (its feed price where the ledger had none then)."""
    when = _moment(valid_from, "valid_from")
    print_ledger(pricing.rollback(reason, data_dir, to, _moment(at, "at"), by, when))


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def entry_line(row: dict[str, Any]) -> str:
    """One ledger entry as one line: when written, kind, item, previous → price, when
    in force, proposal, who, reasons and why."""
    parts = [
        f"{row['at']:%Y-%m-%d %H:%M:%S}",
        f"{row['kind']:<8}",
        f"{row['item_id'] or '-':<10}",
        f"{_money(row['previous_price'])} → {_money(row['price'])}",
        f"valid from {row['valid_from']:%Y-%m-%d %H:%M:%S%z}",
        f"proposal {row['proposal_id'] or '-'}",
        f"by {row['by']}",
    ]
    if row["reasons"]:
        parts.append(f"reasons {','.join(row['reasons'])}")
    if row["why"]:
        parts.append(f"why: {row['why']}")
    return "  ".join(parts)


@price_app.command("history")
@user_errors
def history_command(
    data_dir: DataDir = None,
    item: Annotated[str | None, typer.Option(help="Only this item.")] = None,
    limit: Annotated[int, typer.Option("--limit", "--last", min=1, help="How many rows.")] = 20,
) -> None:
    """The price ledger, oldest first: every publication, rollback, override and
    rejection with its previous price, when it takes effect, who wrote it, when and why."""
    entries = pricing.history(data_dir, item)
    shown = entries.tail(limit)
    typer.echo(f"price ledger: {entries.height:,} entries, the last {shown.height:,}:")
    for row in shown.iter_rows(named=True):
        typer.echo(entry_line(row))
