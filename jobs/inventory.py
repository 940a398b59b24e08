"""Inventory: replenishment alerts from the demand forecast."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobs.shop import open_shop
from storefront.config import load_config
from storefront.progress import progress_bar


@dataclass(frozen=True)
class Alerts:
    """Every item's reorder point, stock-out risk and cover (``status`` says which alert),
    and where the table was written, if asked."""

    table: pl.DataFrame
    out: Path | None = None

    @property
    def at_risk(self) -> pl.DataFrame:
        """Items whose stock position is under the reorder point."""
        from training.replenishment.alerts import STOCKOUT_RISK

        return self.table.filter(pl.col("status") == STOCKOUT_RISK)

    @property
    def overstocked(self) -> pl.DataFrame:
        """Items with more days of cover than the overstock threshold."""
        from training.replenishment.alerts import OVERSTOCK

        return self.table.filter(pl.col("status") == OVERSTOCK)


def alerts(data_dir: Path | None, config: Path | None = None, out: Path | None = None) -> Alerts:
    """Replenishment alerts from the demand forecast and the feature store's stock.

    Args:
        data_dir: The shop folder.
        config: Inventory YAML (default ``configs/inventory.yaml``).
        out: Also write the table as parquet here.
    """
    from training.demand.forecast import read_forecasts
    from training.pricing.inputs import item_states
    from training.replenishment.alerts import alerts as compute
    from training.replenishment.config import InventoryConfig

    folder = open_shop(data_dir)
    cfg = load_config(InventoryConfig, config, name="inventory")
    with progress_bar("computing reorder points", None):
        forecasts = read_forecasts(folder)
        stock = item_states(folder, forecasts["period_start"].min())
        table = compute(forecasts, stock, cfg)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.write_parquet(out)
    return Alerts(table, out)
