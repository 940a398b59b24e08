"""The model registry: promotion of a challenger to champion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storefront.cli.common import DataDir, app, user_errors
from storefront.config import default_data_dir, load_config
from storefront.progress import progress_bar

models_app = typer.Typer(help="The model registry: aliases and promotion.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("promote")
@user_errors
def models_promote_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")] = "storefront-recommender",
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Recommender YAML (default: configs/recommender.yaml).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if the challenger is worse (recorded).")
    ] = False,
) -> None:
    """Compare challenger and champion on the same holdout; move ``champion`` to the
    challenger unless it is worse on the primary metric."""
    from training.recommender.config import RecommenderConfig
    from training.recommender.registry import promote

    cfg = load_config(RecommenderConfig, config, name="recommender")
    with progress_bar(f"comparing {name}@challenger with {name}@champion", None):
        result = promote(name, data_dir or default_data_dir(), cfg, force=force)
    typer.echo(
        f"{result.metric}: champion v{result.champion_before} {result.champion_score:.4f}, "
        f"challenger v{result.challenger} {result.challenger_score:.4f}"
    )
    if result.promoted:
        typer.echo(f"champion is now v{result.challenger}" + (" (forced)" if result.forced else ""))
    else:
        typer.echo(f"champion stays v{result.champion_before}: the challenger is worse")
