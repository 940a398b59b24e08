"""The model registry: promotion of a challenger, for every model family."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, app, table, user_errors
from jobs import models

models_app = typer.Typer(help="The model registry: aliases and promotion.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def print_promotion(result: models.Promotion) -> None:
    """The gate's checks as a table, then the outcome and its reason."""
    if result.checks:
        rows = [
            [c.name, f"{c.champion:.4f}", f"{c.challenger:.4f}", f"{c.rule} = {c.bound:.4f}",
             "pass" if c.passed else "FAIL"]
            for c in result.checks
        ]  # fmt: skip
        table(f"quality gate: challenger v{result.challenger} vs champion "
              f"v{result.champion_before} on the same holdout",
              ["check", "champion", "challenger", "bound", ""], rows)  # fmt: skip
    typer.echo(result.reason)
    for path in result.published:
        typer.echo(f"published for readers: {path}")


@models_app.command("promote")
@user_errors
def models_promote_command(
    name: Annotated[
        str,
        typer.Argument(help="Registered model name, or a family: recommender, demand, elasticity."),
    ] = "storefront-recommender",
    data_dir: DataDir = None,
    config: Annotated[
        Path | None,
        typer.Option(help="The model family's YAML (default: configs/<family>.yaml)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if a check of the gate fails (recorded).")
    ] = False,
) -> None:
    """Judge challenger against champion on the same fresh holdout with the family's
    quality gate (configs/<family>.yaml, gate:) and move ``champion`` to the challenger
    when every check passes; a promoted demand or elasticity version's forecasts or
    estimates are published for pricing."""
    print_promotion(models.promote(name, data_dir, config, force))
