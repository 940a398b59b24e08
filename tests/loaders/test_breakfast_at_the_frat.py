"""Breakfast at the Frat loader: synthetic drop-rule checks and checks on the real panel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from loaders import LoadResult, load
from loaders.breakfast_at_the_frat import load_breakfast_at_the_frat
from storefront.feeds import validate_feeds

# (week_end_date, store_id, upc_id, units, price, base_price, feature, display, tpr_only)
RAW_ROWS = [
    (date(2009, 1, 14), 1, 111, 5, 1.0, 1.2, 1, 0, 0),  # kept, featured
    (date(2009, 1, 21), 1, 111, 3, None, 1.2, 0, 0, 0),  # missing_price
    (date(2009, 1, 28), 1, 111, 2, 0.0, 1.2, 0, 0, 0),  # non_positive_price
    (date(2009, 2, 4), 1, 111, -1, 1.0, 1.2, 0, 0, 0),  # negative_units
    (date(2009, 2, 11), 1, 111, -2, None, 1.2, 0, 0, 0),  # missing_price (first rule)
    (date(2009, 1, 14), 2, 222, 7, 2.0, None, None, None, None),  # kept, no regular price
    (date(2009, 1, 21), 2, 222, 1, 2.5, 0.0, 0, 0, 1),  # kept, bad regular price, TPR
]
PRODUCTS = [
    (111, "PL PRETZELS", "PRIVATE LABEL", "BAG SNACKS"),
    (222, "FROSTED FLAKES", "KELLOGG", "COLD CEREAL"),
    (333, "NEVER SOLD PIZZA", "HOME RUN", "FROZEN PIZZA"),
]


def write_raw(folder: Path) -> Path:
    """Write the synthetic transactions and products into ``folder``."""
    columns = ["week_end_date", "store_id", "upc_id", "units", "price", "base_price"]
    pl.DataFrame(
        RAW_ROWS, schema=[*columns, "feature", "display", "tpr_only"], orient="row"
    ).write_parquet(folder / "transactions.parquet")
    pl.DataFrame(
        PRODUCTS, schema=["upc_id", "description", "manufacturer", "category"], orient="row"
    ).write_parquet(folder / "products.parquet")
    return folder


@pytest.fixture
def synthetic(tmp_path: Path) -> LoadResult:
    return load_breakfast_at_the_frat(write_raw(tmp_path))


def test_synthetic_drop_rules_count_each_row_once_under_first_rule(synthetic: LoadResult):
    assert synthetic.dropped == {"missing_price": 2, "non_positive_price": 1, "negative_units": 1}
    assert synthetic.source_rows == len(RAW_ROWS)
    assert synthetic.kept_rows == 3
    validate_feeds(synthetic.frames)


def test_synthetic_sales_flags_and_dates(synthetic: LoadResult):
    sales = synthetic.frames["sales"]
    assert sales["period_start"].to_list() == [
        date(2009, 1, 8),
        date(2009, 1, 8),
        date(2009, 1, 15),
    ]
    assert sales["promo"].to_list() == [True, False, True]
    assert sales["feature"].to_list() == [True, False, False]  # null flags read as false
    assert sales["base_price"].to_list() == [1.2, None, None]  # 0.0 regular price -> null


def test_synthetic_catalog_only_sold_items_with_fallback_price(synthetic: LoadResult):
    catalog = synthetic.frames["catalog"]
    assert catalog["item_id"].to_list() == ["111", "222"]
    assert catalog["brand"].to_list() == ["PRIVATE LABEL", "KELLOGG"]
    assert catalog["base_price"].to_list() == [1.2, 2.25]  # 222: median shelf price
    assert catalog["created_at"][0] == datetime(2009, 1, 8, tzinfo=UTC)


def test_missing_products_file_is_named(tmp_path: Path):
    write_raw(tmp_path)
    (tmp_path / "products.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"products\.parquet"):
        load_breakfast_at_the_frat(tmp_path)


# --- the published data set -------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> LoadResult:
    return load("breakfast_at_the_frat")


@pytest.fixture(scope="module")
def real_feeds(real: LoadResult) -> dict[str, pl.DataFrame]:
    return validate_feeds(real.frames)


@pytest.mark.real_data
def test_real_frames_pass_validation(real_feeds: dict[str, pl.DataFrame]):
    assert set(real_feeds) == {"sales", "catalog"}


@pytest.mark.real_data
def test_real_drop_counts(real: LoadResult):
    assert real.source_rows == 524_950
    assert real.dropped == {"missing_price": 23, "non_positive_price": 1, "negative_units": 0}
    assert sum(real.dropped.values()) == real.source_rows - real.kept_rows


@pytest.mark.real_data
def test_real_panel_shape(real_feeds: dict[str, pl.DataFrame]):
    sales = real_feeds["sales"]
    assert sales["location_id"].n_unique() == 77
    assert sales["item_id"].n_unique() == 55
    assert sales["period_start"].n_unique() == 156
    assert sales["period_start"].min() == date(2009, 1, 14) - timedelta(days=6)
    assert (sales["units"] >= 0).all()
    assert sales["units"].max() == 1_800


@pytest.mark.real_data
def test_real_promo_is_any_flag(real_feeds: dict[str, pl.DataFrame]):
    sales = real_feeds["sales"]
    any_flag = sales["feature"] | sales["display"] | sales["tpr_only"]
    assert (sales["promo"] == any_flag).all()


@pytest.mark.real_data
def test_real_catalog_has_only_sold_items(real_feeds: dict[str, pl.DataFrame]):
    catalog = real_feeds["catalog"]
    assert catalog.height == 55  # products.parquet lists 58; three pizzas never sell
    assert set(catalog["category"]) == {
        "BAG SNACKS",
        "COLD CEREAL",
        "FROZEN PIZZA",
        "ORAL HYGIENE PRODUCTS",
    }
    assert catalog["brand"].null_count() == 0
