"""Feeds in: simulate a shop, load a real data set, validate a shop's feeds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, SimulationYaml, app, table, user_errors
from cli.summary import summary_tables
from jobs import data
from storefront.progress import console


def print_feeds(report: data.FeedsReport) -> None:
    """Where the feeds are, their row counts, date ranges and behaviour."""
    if report.seconds:
        typer.echo(f"done in {report.seconds:.1f} s")
    typer.echo(f"feeds in {report.data_dir}")
    for summary in summary_tables(report.feeds):
        console.print(summary)


def print_load(report: data.LoadReport) -> None:
    """The rows the loader dropped, by reason, then the feeds."""
    rows = [[reason, f"{count:,}"] for reason, count in report.dropped.items()]
    rows.append(["[bold]kept", f"[bold]{report.kept_rows:,} of {report.source_rows:,}"])
    table(f"{report.name}: rows dropped", ["reason", "rows"], rows)
    print_feeds(report)


@app.command("simulate")
@user_errors
def simulate_command(
    data_dir: DataDir = None,
    config: SimulationYaml = None,
    seed: Annotated[int | None, typer.Option(help="Override the configured seed.")] = None,
    scale: Annotated[
        float, typer.Option(min=0.001, help="Scale users, items and sessions by this factor.")
    ] = 1.0,
) -> None:
    """Simulate a storefront with known truth and write its feeds and ground truth
    (replaces the shop's feeds; its state is kept)."""
    print_feeds(data.simulate(data_dir, config, seed, scale))


@app.command("load")
@user_errors
def load_command(
    name: Annotated[
        str, typer.Argument(help="Data set: online_retail, breakfast_at_the_frat or m5_tiny.")
    ],
    data_dir: DataDir = None,
    source: Annotated[
        Path | None, typer.Option(help="Raw data (default: the copy in ../shared/data).")
    ] = None,
) -> None:
    """Load a real retail data set into the shop's feeds (its state is kept)."""
    print_load(data.load(name, data_dir, source))


@app.command("validate")
@user_errors
def validate_command(data_dir: DataDir = None) -> None:
    """Check every feed of a shop against the contract; exit 1 naming the first fault."""
    report = data.validate(data_dir)
    typer.echo("valid: every feed meets the contract")
    print_feeds(report)
