"""M5 tiny loader: synthetic drop-rule checks and checks on the real daily panel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from loaders import DEFAULT_SOURCES, LoadResult, load
from loaders.m5_tiny import load_m5_tiny
from storefront.feeds import validate_feeds

D1, D2, D3, D4 = (date(2011, 1, 29) + timedelta(days=i) for i in range(4))
# (item_id, store_id, date, value, sell_price, event_name_1, snap)
RAW_ROWS = [
    ("FOODS_1_001", "CA_1", D1, 0, None, None, 0),  # not_on_sale
    ("FOODS_1_001", "CA_1", D2, 0, None, "SuperBowl", 0),  # not_on_sale
    ("FOODS_1_001", "CA_1", D3, 2, 3.0, None, 1),
    ("FOODS_1_001", "CA_1", D4, 1, 3.0, None, 1),
    ("FOODS_1_001", "CA_2", D1, 0, 0.0, None, 0),  # non_positive_price
    ("FOODS_1_001", "CA_2", D2, 4, 3.5, "SuperBowl", 0),
    ("FOODS_1_001", "CA_2", D3, 3, 3.5, None, 1),
    ("FOODS_1_001", "CA_2", D4, 5, 3.0, None, 1),
]


def write_raw(path: Path) -> Path:
    """Write ``RAW_ROWS`` as an M5 tiny parquet file."""
    schema = ["item_id", "store_id", "date", "value", "sell_price", "event_name_1", "snap"]
    pl.DataFrame(RAW_ROWS, schema=schema, orient="row").with_columns(
        pl.lit("FOODS_1").alias("dept_id"), pl.lit("FOODS").alias("cat_id")
    ).write_parquet(path)
    return path


@pytest.fixture
def synthetic(tmp_path: Path) -> LoadResult:
    return load_m5_tiny(write_raw(tmp_path / "m5_tiny.parquet"))


def test_synthetic_drop_rules(synthetic: LoadResult):
    assert synthetic.dropped == {"not_on_sale": 2, "non_positive_price": 1}
    assert (synthetic.source_rows, synthetic.kept_rows) == (8, 5)
    validate_feeds(synthetic.frames)


def test_synthetic_base_price_is_modal_per_store(synthetic: LoadResult):
    sales = synthetic.frames["sales"]
    by_store = dict(sales.group_by("location_id").agg(pl.col("base_price").first()).iter_rows())
    assert by_store == {"CA_1": 3.0, "CA_2": 3.5}
    assert not sales["promo"].any()
    assert sales["event_name"].to_list() == [None, None, "SuperBowl", None, None]
    assert sales["snap"].to_list() == [True, True, False, True, True]


def test_synthetic_catalog(synthetic: LoadResult):
    row = synthetic.frames["catalog"].row(0, named=True)
    assert row["category"] == "FOODS"
    assert row["name"] == "FOODS_1"
    assert row["base_price"] == 3.0  # median of 3.0, 3.0, 3.5, 3.5, 3.0
    assert row["created_at"] == datetime(2011, 1, 30, tzinfo=UTC)  # D2, first day on sale


# --- the published data set -------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> LoadResult:
    return load("m5_tiny")


@pytest.fixture(scope="module")
def real_feeds(real: LoadResult) -> dict[str, pl.DataFrame]:
    return validate_feeds(real.frames)


@pytest.mark.real_data
def test_real_frames_pass_validation(real_feeds: dict[str, pl.DataFrame]):
    assert set(real_feeds) == {"sales", "catalog"}
    assert real_feeds["catalog"].height == 28


@pytest.mark.real_data
def test_real_drop_counts(real: LoadResult):
    assert real.source_rows == 535_640
    assert real.dropped == {"not_on_sale": 81_193, "non_positive_price": 0}
    assert sum(real.dropped.values()) == real.source_rows - real.kept_rows


@pytest.mark.real_data
def test_real_has_280_series(real_feeds: dict[str, pl.DataFrame]):
    sales = real_feeds["sales"]
    assert sales.select(pl.struct("item_id", "location_id").n_unique()).item() == 280
    assert (sales["item_id"].n_unique(), sales["location_id"].n_unique()) == (28, 10)


@pytest.mark.real_data
def test_real_no_rows_before_first_price(real_feeds: dict[str, pl.DataFrame]):
    raw = pl.scan_parquet(DEFAULT_SOURCES["m5_tiny"])
    first_price = (
        raw.filter(pl.col("sell_price").is_not_null())
        .group_by("item_id", pl.col("store_id").alias("location_id"))
        .agg(pl.col("date").min().alias("first_price"))
        .collect()
    )
    first_row = (
        real_feeds["sales"].group_by("item_id", "location_id").agg(pl.col("period_start").min())
    )
    both = first_row.join(first_price, on=["item_id", "location_id"])
    assert both.height == 280
    assert (both["period_start"] == both["first_price"]).all()
    assert real_feeds["sales"]["price"].null_count() == 0
