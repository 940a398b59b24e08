"""``/forecast``: batch demand forecasts (``storefront train demand``) by item.

The table (``training.demand.forecast.read_forecasts``) is re-read when its file
changes; until one exists every item is answered as unknown, flagged degraded.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import polars as pl

from serving.schemas import ForecastPoint, ItemForecast

log = logging.getLogger(__name__)


class Forecasts:
    """The shop's latest batch forecasts, by item.

    Args:
        data_dir: The shop folder.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._stamp: float | None = None
        self._by_item: dict[str, pl.DataFrame] = {}
        self._lock = threading.Lock()

    def _table(self) -> dict[str, pl.DataFrame]:
        from training.demand.forecast import forecast_path, read_forecasts

        path = forecast_path(self.data_dir)
        if not path.exists():
            raise FileNotFoundError(f"no demand forecasts in {self.data_dir}")
        stamp = path.stat().st_mtime
        with self._lock:
            if stamp != self._stamp:
                frame = read_forecasts(self.data_dir).sort("item_id", "location_id", "step")
                self._by_item = {
                    str(key[0]): part
                    for key, part in frame.partition_by("item_id", as_dict=True).items()
                }
                self._stamp = stamp
            return self._by_item

    def forecast(
        self, item_ids: list[str], horizon: int, quantiles: list[str], location: str | None
    ) -> tuple[list[ItemForecast], list[str], int, list[str]]:
        """Forecasts of the known items, unknown ids, horizon answered, degraded reasons."""
        try:
            table = self._table()
        except Exception as exc:  # no forecasts yet, or the module is not there
            log.warning("forecasts unavailable: %s", exc)
            return [], list(item_ids), 0, ["forecasts_unavailable"]
        answers, unknown, answered = [], [], 0
        for item in item_ids:
            rows = table.get(item)
            if rows is not None and location is not None:
                rows = rows.filter(pl.col("location_id") == location)
            if rows is None or rows.is_empty():
                unknown.append(item)
                continue
            rows = rows.filter(pl.col("step") <= horizon)
            answered = max(answered, int(rows["step"].max() or 0))
            points = [
                ForecastPoint(
                    location_id=r["location_id"],
                    period_start=r["period_start"],
                    step=r["step"],
                    forecast=r["forecast"],
                    quantiles={q: r[q] for q in quantiles},
                )
                for r in rows.iter_rows(named=True)
            ]
            answers.append(ItemForecast(item_id=item, points=points))
        return answers, unknown, answered, []
