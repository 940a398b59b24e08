"""Pricing: propose a day's prices; approve, reject, set by hand, roll back and audit
through the price ledger."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from storefront.cli.common import DataDir, app, shop, user_errors
from storefront.config import load_config
from storefront.progress import console, progress_bar

price_app = typer.Typer(help="Price proposals and their approval.", no_args_is_help=True)
app.add_typer(price_app, name="price")

PricingYaml = Annotated[
    Path | None, typer.Option("--config", help="Pricing YAML (default: configs/pricing.yaml).")
]


def _first_forecast_day(data_dir: Path) -> dt.date:
    from training.demand.forecast import read_forecasts

    first = read_forecasts(data_dir)["period_start"].min()
    assert isinstance(first, dt.date)
    return first


def propose_prices(data_dir: Path, date: dt.date | None, config: Path | None) -> str:
    """Propose prices with a progress bar, print the summary; returns the proposal id."""
    from training.pricing.config import PricingConfig
    from training.pricing.pipeline import propose_prices as propose
    from training.pricing.report import reason_counts, summary, write_report

    cfg = load_config(PricingConfig, config, name="pricing")
    day = date or _first_forecast_day(data_dir)
    with progress_bar(f"proposing prices for {day}", None):
        proposal = propose(data_dir, day, cfg)
    with progress_bar("writing the report", None):
        report = write_report(proposal, data_dir, cfg)
    for title, frame in (("proposal", summary(proposal.table)),
                         ("held back by", reason_counts(proposal.table))):  # fmt: skip
        table = Table(title=title, title_justify="left")
        for column in frame.columns:
            table.add_column(column, justify="left" if column == frame.columns[0] else "right")
        for row in frame.iter_rows():
            table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        console.print(table)
    typer.echo(f"proposal {proposal.proposal_id} ({proposal.meta['status']})")
    typer.echo(f"report: {report}")
    if proposal.meta["status"] != "published":
        typer.echo(f"publish it with: storefront price approve {proposal.proposal_id}")
    return proposal.proposal_id


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
    propose_prices(shop(data_dir), day, config)


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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


By = Annotated[str | None, typer.Option(help="Who does it (default: the current user).")]
ValidFrom = Annotated[
    str | None,
    typer.Option(help="When the price takes effect, ISO with time zone (default: now)."),
]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the ledger).")]


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
    from training.pricing.actions import approve

    when = _moment(valid_from, "valid_from")
    result = approve(shop(data_dir), proposal, by or getpass.getuser(), _now(), when)
    typer.echo(result.note)


@price_app.command("reject")
@user_errors
def reject_command(
    proposal: Annotated[str, typer.Argument(help="Proposal id (from `price propose`).")],
    reason: Reason,
    data_dir: DataDir = None,
    by: By = None,
) -> None:
    """Record that a proposal is rejected; it can no longer be approved."""
    from training.pricing.actions import reject

    typer.echo(reject(shop(data_dir), proposal, by or getpass.getuser(), reason, _now()).note)


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
    from training.pricing.actions import GuardrailError, set_price
    from training.pricing.config import PricingConfig

    cfg = load_config(PricingConfig, config, name="pricing")
    when = _moment(valid_from, "valid_from")
    try:
        result = set_price(shop(data_dir), item, price, by or getpass.getuser(), reason,
                           _now(), cfg, when)  # fmt: skip
    except GuardrailError as exc:
        typer.echo(f"refused: {exc}")
        typer.echo("nothing was written")
        raise typer.Exit(code=1) from exc
    typer.echo(result.note)


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
    from training.pricing.rollback import rollback

    result = rollback(shop(data_dir), by or getpass.getuser(), reason, _now(), to,
                      _moment(at, "at"), _moment(valid_from, "valid_from"))  # fmt: skip
    typer.echo(result.note)


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
    from training.pricing.ledger import history

    entries = history(shop(data_dir), item)
    shown = entries.tail(limit)
    typer.echo(f"price ledger: {entries.height:,} entries, the last {shown.height:,}:")
    for row in shown.iter_rows(named=True):
        typer.echo(entry_line(row))
