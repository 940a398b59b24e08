"""Reorder points from the forecast and its quantiles; stock-out risk and overstock."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from scipy import stats

from training.replenishment.alerts import OK, OVERSTOCK, STOCKOUT_RISK, alerts
from training.replenishment.config import InventoryConfig

D0 = dt.date(2025, 6, 1)


def _forecasts(daily: dict[str, float], spread: float = 2.0, days: int = 28) -> pl.DataFrame:
    rows = [
        {"item_id": item, "location_id": "online", "period_start": D0 + dt.timedelta(days=k),
         "step": k + 1, "forecast": mean, "p10": max(mean - spread, 0.0), "p90": mean + spread}
        for item, mean in daily.items()
        for k in range(days)
    ]  # fmt: skip
    return pl.DataFrame(rows)


def test_status_order_and_reorder_point() -> None:
    cfg = InventoryConfig(lead_time_days=7, review_days=7, service_level=0.95)
    forecasts = _forecasts({"short": 5.0, "fine": 5.0, "full": 1.0})
    stock = pl.DataFrame({"item_id": ["short", "fine", "full"], "on_hand": [10, 80, 500],
                          "on_order": [0, 0, 0]})  # fmt: skip
    table = alerts(forecasts, stock, cfg)
    by = {row["item_id"]: row for row in table.iter_rows(named=True)}
    assert by["short"]["status"] == STOCKOUT_RISK and by["fine"]["status"] == OK
    assert by["full"]["status"] == OVERSTOCK
    assert table["item_id"].to_list() == ["short", "full", "fine"]
    sigma_day = 4.0 / (2 * stats.norm.ppf(0.9))
    safety = stats.norm.ppf(0.95) * sigma_day * 7**0.5
    assert by["short"]["reorder_point"] == pytest.approx(35 + safety)
    assert by["short"]["projected_stockout"] == D0 + dt.timedelta(days=2)
    # the order brings the position up to 14 days of demand plus its safety stock
    cover = 70 + stats.norm.ppf(0.95) * sigma_day * 14**0.5
    assert by["short"]["suggested_order"] == pytest.approx(cover - 10, abs=1)
    assert by["fine"]["suggested_order"] == 0


def test_stock_on_order_counts_toward_the_position() -> None:
    forecasts = _forecasts({"x": 5.0})
    stock = pl.DataFrame({"item_id": ["x"], "on_hand": [10], "on_order": [60]})
    assert alerts(forecasts, stock, InventoryConfig())["status"].item() == OK


def test_wider_quantiles_mean_more_safety_stock() -> None:
    stock = pl.DataFrame({"item_id": ["x"], "on_hand": [0], "on_order": [0]})
    narrow = alerts(_forecasts({"x": 5.0}, spread=1.0), stock, InventoryConfig())
    wide = alerts(_forecasts({"x": 5.0}, spread=4.0), stock, InventoryConfig())
    assert wide["safety_stock"].item() > 3 * narrow["safety_stock"].item()
