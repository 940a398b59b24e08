"""Inventory: replenishment alerts from the demand forecast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from storefront.cli.common import DataDir, app, shop, user_errors, write_table
from storefront.config import load_config
from storefront.progress import console, progress_bar

inventory_app = typer.Typer(help="Stock: replenishment alerts.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")

SHOWN = ("item_id", "on_hand", "on_order", "reorder_point", "days_of_cover",
         "projected_stockout", "suggested_order")  # fmt: skip


def _print(frame: pl.DataFrame, title: str, rows: int) -> None:
    table = Table(title=f"{title} ({frame.height:,} items)", title_justify="left")
    for column in SHOWN:
        table.add_column(column, justify="left" if column == "item_id" else "right")
    for row in frame.head(rows).select(SHOWN).iter_rows():
        table.add_row(*("" if v is None else f"{v:,.1f}" if isinstance(v, float) else str(v)
                        for v in row))  # fmt: skip
    console.print(table)


def inventory_alerts(data_dir: Path, config: Path | None, out: Path | None, rows: int) -> None:
    """Compute and print the alerts; write them all to ``out`` when given."""
    from training.demand.forecast import read_forecasts
    from training.pricing.inputs import item_states
    from training.replenishment.alerts import OVERSTOCK, STOCKOUT_RISK, alerts
    from training.replenishment.config import InventoryConfig

    cfg = load_config(InventoryConfig, config, name="inventory")
    with progress_bar("computing reorder points", None):
        forecasts = read_forecasts(data_dir)
        stock = item_states(data_dir, forecasts["period_start"].min())
        table = alerts(forecasts, stock, cfg)
    _print(table.filter(pl.col("status") == STOCKOUT_RISK), "at risk of a stock-out", rows)
    _print(table.filter(pl.col("status") == OVERSTOCK), "overstocked", rows)
    if out is not None:
        write_table(table, out, f"all {table.height:,} items")


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
    inventory_alerts(shop(data_dir), config, out, rows)
