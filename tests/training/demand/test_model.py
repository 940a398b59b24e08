"""The demand model's training-row cap keeps the most recent periods of every series."""

from __future__ import annotations

import polars as pl
import pytest

from tests.training.demand.panel import synthetic_panel
from training.demand.config import DemandConfig
from training.demand.features import model_rows
from training.demand.model import DemandModel, most_recent


def test_the_cap_drops_the_oldest_periods_not_whole_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = DemandConfig(horizon=14, rounds=5, min_child_samples=5, max_training_rows=1000)
    rows = model_rows(synthetic_panel(series=12, days=180), 1, cfg)  # 2,160 rows, by series
    seen: list[pl.DataFrame] = []
    dataset = DemandModel._dataset

    def spy(self: DemandModel, rows: pl.DataFrame, reference: object = None) -> object:
        seen.append(rows)
        return dataset(self, rows, reference)

    monkeypatch.setattr(DemandModel, "_dataset", spy)
    DemandModel(cfg).fit(rows)
    train = seen[0]
    assert train.height <= 1000
    assert set(train["item_id"]) == set(rows["item_id"]), "every series is still trained on"
    per_series = train.group_by("item_id").agg(
        pl.len(), pl.col("period_start").min().alias("first")
    )
    assert per_series["len"].n_unique() == 1 and per_series["first"].n_unique() == 1
    dropped = rows.join(train, on=["item_id", "location_id", "period_start"], how="anti")
    assert dropped["period_start"].max() < train["period_start"].min(), "the oldest go"
    assert train["period_start"].max() == rows["period_start"].max()
    assert dropped.height + train.height == rows.height


def test_under_the_cap_nothing_changes_and_one_huge_period_is_cut() -> None:
    rows = model_rows(synthetic_panel(series=3, days=30), 1, DemandConfig(horizon=7))
    assert most_recent(rows, 10_000).equals(rows)
    last = most_recent(rows, 2)
    assert last.height == 2 and (last["period_start"] == rows["period_start"].max()).all()
