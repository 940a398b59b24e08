"""The feature store: build (incremental) and rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, app, table, user_errors
from jobs import features

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


EngineConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--engine-config",
        help="Engine YAML (default: $STOREFRONT_ENGINE_CONFIG, else configs/engine.yaml); "
        "engine: ray computes the tables on a Ray cluster, partitioned by shopper and item.",
    ),
]


def print_build(report: features.BuildReport) -> None:
    """New rows per table, and seconds per step."""
    rows = [[name, f"{count:,}"] for name, count in report.new_rows.items()]
    table(f"features built through {report.built_through}", ["table", "new rows"], rows)
    typer.echo(f"tables computed on: {report.engine}")
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
    engine_config: EngineConfigOption = None,
) -> None:
    """Compute feature tables from the feeds, apply them to Feast and materialize the new
    rows (incremental: a second run adds only what is new)."""
    print_build(features.build(data_dir, config, rebuild, engine_config))
