"""The model registry: promotion of a challenger, for every model family."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, app, user_errors
from jobs import models

models_app = typer.Typer(help="The model registry: aliases and promotion.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("promote")
@user_errors
def models_promote_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")] = "storefront-recommender",
    data_dir: DataDir = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="The model family's YAML (default: configs/recommender.yaml, or "
            "configs/demand.yaml for a demand model)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if the challenger is worse (recorded).")
    ] = False,
) -> None:
    """Compare challenger and champion on the same holdout; move ``champion`` to the
    challenger unless it is worse on the family's metric (the recommender's primary
    metric; WAPE, lower is better, for the demand model)."""
    result = models.promote(name, data_dir, config, force)
    note = " (lower is better)" if result.lower_is_better else ""
    typer.echo(
        f"{result.metric}{note}: champion v{result.champion_before} "
        f"{result.champion_score:.4f}, challenger v{result.challenger} "
        f"{result.challenger_score:.4f}"
    )
    if result.promoted:
        typer.echo(f"champion is now v{result.challenger}" + (" (forced)" if result.forced else ""))
    else:
        typer.echo(f"champion stays v{result.champion_before}: the challenger is worse")
