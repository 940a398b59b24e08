"""The model registry: promotion of a challenger to champion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storefront.cli.common import DataDir, app, shop, user_errors
from storefront.config import load_config
from storefront.progress import progress_bar

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
    if _is_demand_model(name):
        from training.demand.config import DemandConfig
        from training.demand.registry import promote_demand

        demand = load_config(DemandConfig, config, name="demand")
        with progress_bar(f"comparing {name}@challenger with {name}@champion", None):
            result = promote_demand(name, shop(data_dir), demand, force=force)
    else:
        from training.recommender.config import RecommenderConfig
        from training.recommender.registry import promote

        cfg = load_config(RecommenderConfig, config, name="recommender")
        with progress_bar(f"comparing {name}@challenger with {name}@champion", None):
            result = promote(name, shop(data_dir), cfg, force=force)
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


def _is_demand_model(name: str) -> bool:
    """Whether the registered model's champion is a demand model (LightGBM flavor; the
    recommender is a Python model)."""
    import mlflow

    from training.registry import model_flavors
    from training.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(None))
    try:
        return "lightgbm" in model_flavors(name)
    except ValueError:
        return False  # no such model here: the recommender path names what is missing
