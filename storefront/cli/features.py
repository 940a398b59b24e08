"""The feature store: build (incremental) and rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from storefront.cli.common import DataDir, app, shop, user_errors
from storefront.config import load_config
from storefront.progress import console, progress_bar

features_app = typer.Typer(help="The feature store: build, inspect.", no_args_is_help=True)
app.add_typer(features_app, name="features")

FeaturesConfig = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Features YAML (default: configs/features.yaml; the scale profile with "
        "Redis and Postgres is configs/feature_store.scale.yaml).",
    ),
]


def build_features(data_dir: Path, config: Path | None, rebuild: bool) -> None:
    """Build the feature store with a progress bar and print what was added."""
    from features.build import build_features as build
    from features.config import FeatureConfig

    cfg = load_config(FeatureConfig, config, name="features")
    steps = ("read feeds", "compute tables", "write offline tables", "apply definitions",
             "materialize to the online store")  # fmt: skip
    with progress_bar("building features", len(steps)) as advance:
        started: list[str] = []

        def step(name: str) -> None:
            if started:
                advance(1)
            started.append(name)
            console.log(f"features: {name}")

        report = build(data_dir, cfg, rebuild=rebuild, step=step)
        advance(len(steps) - len(started) + 1)
    table = Table(title=f"features built through {report.built_through}", title_justify="left")
    table.add_column("table")
    table.add_column("new rows", justify="right")
    for name, rows in report.new_rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    if report.up_to_date:
        typer.echo("feature store up to date: nothing new in the feeds")
    for name, seconds in report.seconds.items():
        typer.echo(f"  {name}: {seconds:.1f} s")


@features_app.command("build")
@user_errors
def features_build_command(
    data_dir: DataDir = None,
    config: FeaturesConfig = None,
    rebuild: Annotated[
        bool, typer.Option(help="Forget earlier builds and recompute everything.")
    ] = False,
) -> None:
    """Compute feature tables from the feeds, apply them to Feast and materialize the new
    rows (incremental: a second run adds only what is new)."""
    build_features(shop(data_dir), config, rebuild)
