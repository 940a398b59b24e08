"""Feeds in: simulate a shop, load a real data set, validate a feed directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from storefront.cli.common import DataDir, SimulationYaml, app, print_summary, user_errors
from storefront.config import default_data_dir, load_config
from storefront.feeds import Feeds, read_feeds, write_feeds
from storefront.progress import console, progress_bar


def simulate_feeds(data_dir: Path, config: Path | None, seed: int | None, scale: float) -> Feeds:
    """Simulate a shop and write its feeds and ground truth to ``data_dir``."""
    from simulator import SimulationConfig, simulate
    from simulator.truth import TRUTH_FILE

    cfg = load_config(SimulationConfig, config, name="simulation")
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    if scale != 1.0:
        cfg = cfg.scaled(scale)
    with progress_bar("simulating the storefront (days)", cfg.days) as advance:
        sim = simulate(cfg, on_day=lambda _day: advance(1))
    with progress_bar(f"writing feeds to {data_dir}", None):
        return write_feeds(sim.feeds, data_dir, side_files={TRUTH_FILE: sim.truth.save})


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
    """Simulate a storefront with known truth and write its feeds and ground truth."""
    data_dir = data_dir or default_data_dir()
    started = time.perf_counter()
    feeds = simulate_feeds(data_dir, config, seed, scale)
    typer.echo(f"simulated in {time.perf_counter() - started:.1f} s")
    print_summary(feeds, data_dir)


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
    """Load a real retail data set into a validated feed directory."""
    from loaders import load

    data_dir = data_dir or default_data_dir()
    with progress_bar(f"loading {name}", None):
        result = load(name, source)
    with progress_bar(f"validating and writing feeds to {data_dir}", None):
        feeds = write_feeds(result.frames, data_dir)
    report = Table(title=f"{name}: rows dropped", title_justify="left")
    report.add_column("reason")
    report.add_column("rows", justify="right")
    for reason, rows in result.dropped.items():
        report.add_row(reason, f"{rows:,}")
    report.add_row("[bold]kept", f"[bold]{result.kept_rows:,} of {result.source_rows:,}")
    console.print(report)
    print_summary(feeds, data_dir)


@app.command("validate")
@user_errors
def validate_command(data_dir: DataDir = None) -> None:
    """Check every feed in a directory against the contract; exit 1 naming the first fault."""
    data_dir = data_dir or default_data_dir()
    with progress_bar(f"validating {data_dir}", None):
        feeds = read_feeds(data_dir)
    if not feeds.present():
        raise FileNotFoundError(f"no feed files (*.parquet) in {data_dir}")
    typer.echo("valid: every feed meets the contract")
    print_summary(feeds, data_dir)
