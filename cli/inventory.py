"""Inventory: replenishment alerts from the demand forecast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from cli.common import DataDir, app, cell, table, user_errors
from jobs import inventory

inventory_app = typer.Typer(help="Stock: replenishment alerts.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")

SHOWN = ["item_id", "on_hand", "on_order", "reorder_point", "days_of_cover",
         "projected_stockout", "suggested_order"]  # fmt: skip


def _print(frame: pl.DataFrame, title: str, rows: int) -> None:
    body = [[cell(v) for v in row] for row in frame.head(rows).select(SHOWN).iter_rows()]
    table(f"{title} ({frame.height:,} items)", SHOWN, body)


def print_alerts(report: inventory.Alerts, rows: int = 15) -> None:
    """The items at risk of a stock-out, then the overstocked ones (``rows`` of each)."""
    _print(report.at_risk, "at risk of a stock-out", rows)
    _print(report.overstocked, "overstocked", rows)
    if report.out is not None:
        typer.echo(f"all {report.table.height:,} items written to {report.out}")


@inventory_app.command("alerts")
@user_errors
def alerts_command(
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Inventory YAML (default: configs/inventory.yaml).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write every item's row as parquet.")] = None,
    rows: Annotated[int, typer.Option(min=1, help="Rows shown per table.")] = 15,
) -> None:
    """Items at risk of a stock-out (stock position under the reorder point: forecast
    over the lead time plus safety stock from the forecast quantiles) and overstocked
    items (days of cover)."""
    print_alerts(inventory.alerts(data_dir, config, out), rows)
