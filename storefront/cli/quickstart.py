"""The main job: from nothing to a trained, registered shop in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storefront.cli.common import DataDir, SimulationYaml, app, print_summary, user_errors
from storefront.cli.data import simulate_feeds
from storefront.cli.features import build_features
from storefront.cli.inventory import inventory_alerts
from storefront.cli.pricing import propose_prices
from storefront.cli.train import train_demand, train_elasticity, train_recommender
from storefront.config import default_data_dir
from storefront.feeds import read_feeds
from storefront.progress import console, progress_bar

QUICKSTART_APPROVER = "quickstart (demo sign-off)"


@app.command("quickstart")
@user_errors
def quickstart_command(
    data_dir: DataDir = None,
    config: SimulationYaml = None,
    features_config: Annotated[
        Path | None, typer.Option(help="Features YAML (default: configs/features.yaml).")
    ] = None,
) -> None:
    """The main job: simulate a shop, build its feature store, train every model,
    propose and publish prices, list stock alerts."""
    data_dir = data_dir or default_data_dir()
    steps = (
        ("simulate", lambda: simulate_feeds(data_dir, config, seed=None, scale=1.0)),
        ("validate", lambda: _validate(data_dir)),
        ("build the feature store", lambda: build_features(data_dir, features_config, True)),
        ("train recommenders (quick configuration)",
         lambda: train_recommender(data_dir, None, "recommender.quickstart", metrics_out=None)),
        ("train the demand model", lambda: train_demand(data_dir, None, metrics_out=None)),
        ("estimate price elasticities", lambda: train_elasticity(data_dir, None, None)),
        ("propose tomorrow's prices (approved as the quickstart)",
         lambda: _price(data_dir)),
        ("replenishment alerts", lambda: inventory_alerts(data_dir, None, None, rows=5)),
    )  # fmt: skip
    for number, (title, step) in enumerate(steps, start=1):
        console.rule(f"{number}/{len(steps)} {title}")
        step()
    typer.echo("quickstart done")


def _validate(data_dir: Path) -> None:
    with progress_bar(f"validating {data_dir}", None):
        feeds = read_feeds(data_dir, required=("events", "catalog", "inventory", "prices"))
    print_summary(feeds, data_dir)


def _price(data_dir: Path) -> None:
    from training.pricing.proposals import approve

    proposal_id = propose_prices(data_dir, None, None)
    count = approve(data_dir, proposal_id, QUICKSTART_APPROVER)
    typer.echo(f"published {count:,} prices for serving, approved by {QUICKSTART_APPROVER}")
