"""What every command shares: the root app, common options, error handling."""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.logging import RichHandler

from storefront.config import ConfigError, default_data_dir
from storefront.feeds import Feeds, FeedValidationError
from storefront.progress import console
from storefront.summary import summary_tables
from storefront.workspace import Workspace

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
        help="Feed directory (events/catalog/inventory/prices/sales .parquet). "
        "Default: $STOREFRONT_DATA_DIR or data/feeds.",
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


def shop(data_dir: Path | None) -> Path:
    """The shop folder a command works on (``--data-dir``, else the default), which must
    exist: a mistyped folder is an error, never a new empty shop."""
    return Workspace.open(data_dir or default_data_dir()).root


def print_summary(feeds: Feeds, data_dir: Path) -> None:
    """Print the row counts and date ranges of a feed directory."""
    typer.echo(f"feeds in {data_dir}")
    for table in summary_tables(feeds):
        console.print(table)


def write_table(frame: Any, path: Path, what: str) -> None:
    """Write a Polars frame as parquet at ``path`` (folders made) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    typer.echo(f"{what} written to {path}")
