"""What every command shares: the root app, common options, error handling, tables."""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.logging import RichHandler
from rich.table import Table

from storefront.config import ConfigError
from storefront.feeds import FeedValidationError
from storefront.progress import console

app = typer.Typer(
    help="Storefront ML: recommendations and dynamic pricing for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The shop folder (feeds/ and state/). Default: $STOREFRONT_DATA_DIR or data/shop.",
    ),
]

SimulationYaml = Annotated[
    Path | None, typer.Option(help="Simulation YAML (default: configs/simulation.yaml).")
]

P = ParamSpec("P")
R = TypeVar("R")


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn errors in the user's input into a one-line message and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FeedValidationError as exc:
            console.print(f"[bold red]refused:[/] {exc}")
            console.print("nothing was written; the previous data is untouched")
        except (ConfigError, FileNotFoundError, ValueError) as exc:
            console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1)

    return wrapper


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Set up logging (and quiet a third-party deprecation notice) for every command."""
    warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")  # ibis, under Feast
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


def table(title: str, columns: list[str], rows: list[list[str]], first_left: bool = True) -> None:
    """Print a table: the first column left-aligned, the others right-aligned."""
    out = Table(title=title, title_justify="left")
    for n, column in enumerate(columns):
        out.add_column(column, justify="left" if n == 0 and first_left else "right")
    for row in rows:
        out.add_row(*row)
    console.print(out)


def cell(value: object) -> str:
    """A value as a table shows it (thousands separators, one decimal for floats)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)
