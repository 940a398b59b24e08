"""The main job: from nothing to a trained, registered shop in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storefront.cli.common import DataDir, SimulationYaml, app, print_summary, user_errors
from storefront.cli.data import simulate_feeds
from storefront.cli.features import build_features
from storefront.cli.train import train_demand, train_recommender
from storefront.config import default_data_dir
from storefront.feeds import read_feeds
from storefront.progress import console, progress_bar


@app.command("quickstart")
@user_errors
def quickstart_command(
    data_dir: DataDir = None,
    config: SimulationYaml = None,
    features_config: Annotated[
        Path | None, typer.Option(help="Features YAML (default: configs/features.yaml).")
    ] = None,
) -> None:
    """The main job: simulate a shop, validate its feeds, build its feature store."""
    data_dir = data_dir or default_data_dir()
    console.rule("1/5 simulate")
    simulate_feeds(data_dir, config, seed=None, scale=1.0)
    console.rule("2/5 validate")
    with progress_bar(f"validating {data_dir}", None):
        feeds = read_feeds(data_dir, required=("events", "catalog", "inventory", "prices"))
    print_summary(feeds, data_dir)
    console.rule("3/5 build the feature store")
    build_features(data_dir, features_config, rebuild=True)
    console.rule("4/5 train recommenders (quick configuration)")
    train_recommender(data_dir, None, "recommender.quickstart", metrics_out=None)
    console.rule("5/5 train the demand model")
    train_demand(data_dir, None, metrics_out=None)
    typer.echo("quickstart done")
