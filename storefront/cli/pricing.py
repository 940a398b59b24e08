"""Pricing: propose a day's prices, approve (publish) a proposal."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from storefront.cli.common import DataDir, app, user_errors
from storefront.config import default_data_dir, load_config
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
    propose_prices(data_dir or default_data_dir(), day, config)


@price_app.command("approve")
@user_errors
def approve_command(
    proposal: Annotated[str, typer.Argument(help="Proposal id (from `price propose`).")],
    data_dir: DataDir = None,
    by: Annotated[
        str | None, typer.Option(help="Who approves (default: the current user).")
    ] = None,
) -> None:
    """Publish a proposal's prices for serving; the approver and time are kept with
    every price."""
    from training.pricing.proposals import approve

    approver = by or getpass.getuser()
    count = approve(data_dir or default_data_dir(), proposal, approver)
    typer.echo(f"published {count:,} prices of {proposal}, approved by {approver}")


@price_app.command("history")
@user_errors
def history_command(
    data_dir: DataDir = None,
    item: Annotated[str | None, typer.Option(help="Only this item.")] = None,
    last: Annotated[int, typer.Option(min=1, help="How many rows.")] = 20,
) -> None:
    """The audit of published prices: who or what approved each, and when."""
    from training.pricing.publish import price_history

    history = price_history(data_dir or default_data_dir())
    if item:
        history = history.filter(pl.col("item_id") == item)
    table = Table(title=f"published prices ({history.height:,} in all)", title_justify="left")
    for column in ("approved_at", "item_id", "price", "was_price", "proposal_id", "approved_by"):
        table.add_column(column)
    for row in history.tail(last).iter_rows(named=True):
        table.add_row(str(row["approved_at"]), row["item_id"], f"{row['price']:.2f}",
                      "" if row["was_price"] is None else f"{row['was_price']:.2f}",
                      row["proposal_id"], row["approved_by"])  # fmt: skip
    console.print(table)
