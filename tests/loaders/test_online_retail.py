"""Online Retail loader: synthetic drop-rule checks and checks on the published data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from loaders import LoadResult, load
from loaders.online_retail import SERVICE_CODES, load_online_retail
from storefront.feeds import validate_feeds

HOLDER = "WHITE HANGING HEART T-LIGHT HOLDER"
LANTERN = "WHITE METAL LANTERN"

# (InvoiceNo, StockCode, Description, Quantity, InvoiceDate (London), UnitPrice, CustomerID)
RAW_LINES = [
    ("536365", "85123A", HOLDER, 6, datetime(2010, 12, 1, 8, 26), 2.55, 17850),  # kept
    ("536365", "71053", LANTERN, 6, datetime(2010, 12, 1, 8, 26), 3.39, 17850),  # kept
    ("C536379", "85123A", HOLDER, -1, datetime(2010, 12, 1, 9, 41), 2.55, 17850),  # cancel.
    ("C536380", "POST", "POSTAGE", -1, datetime(2010, 12, 1, 9, 45), 18.0, 12583),  # cancel.
    ("536370", "POST", "POSTAGE", 3, datetime(2010, 12, 1, 8, 45), 18.0, 12583),  # code
    ("536371", "23444", "Next Day Carriage", 1, datetime(2010, 12, 1, 9, 0), 15.0, 12583),
    ("536372", "85123A", HOLDER, 0, datetime(2010, 12, 1, 9, 1), 0.0, 17850),  # quantity
    ("536373", "85123a", HOLDER, 2, datetime(2010, 12, 1, 9, 2), 0.0, 17850),  # price
    ("536374", "85123A", HOLDER, 2, datetime(2010, 12, 1, 9, 3), 2.55, None),  # customer
    ("536375", " 85123a ", HOLDER, 4, datetime(2011, 7, 1, 10, 0), 2.55, 17850),  # kept, BST
    ("536376", "85123A", HOLDER, 1, datetime(2011, 7, 2, 10, 0), 2.00, 13047),  # kept, promo
    ("536377", "85123A", HOLDER, 2, datetime(2011, 7, 3, 10, 0), 2.55, 13047),  # kept
    ("C536378", "99999", "NEVER SOLD", -2, datetime(2011, 7, 4, 10, 0), 1.0, 13047),  # unsold
    ("C536381", "71053", LANTERN, 3, datetime(2011, 7, 4, 11, 0), 3.39, 13047),  # not < 0
]
EXPECTED_DROPPED = {
    "non_product_code": 3,
    "non_positive_quantity": 1,
    "non_negative_cancellation": 1,
    "non_positive_price": 1,
    "missing_customer": 1,
    "returned_item_never_sold": 1,
}


def write_raw(path: Path, customer_dtype: pl.DataType = pl.Int64()) -> Path:
    """Write ``RAW_LINES`` as an Online Retail parquet file."""
    columns = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate"]
    frame = pl.DataFrame(
        RAW_LINES, schema=[*columns, "UnitPrice", "CustomerID"], orient="row"
    ).with_columns(
        pl.col("CustomerID").cast(customer_dtype), pl.lit("United Kingdom").alias("Country")
    )
    frame.write_parquet(path)
    return path


@pytest.fixture
def synthetic(tmp_path: Path) -> LoadResult:
    return load_online_retail(write_raw(tmp_path / "online_retail.parquet"))


def test_synthetic_drop_rules_count_each_row_once_under_first_rule(synthetic: LoadResult):
    assert synthetic.dropped == EXPECTED_DROPPED
    assert list(synthetic.dropped) == list(EXPECTED_DROPPED)  # rule order
    assert synthetic.source_rows == len(RAW_LINES)
    assert synthetic.kept_rows == 6, "5 purchases and 1 return"
    validate_feeds(synthetic.frames)


def test_synthetic_events_ids_times_and_items(synthetic: LoadResult):
    events = synthetic.frames["events"]
    assert events["event_id"].to_list() == [
        "536365-0",
        "536365-1",
        "C536379-2",
        "536375-9",
        "536376-10",
        "536377-11",
    ]
    assert set(events["item_id"]) == {"85123A", "71053"}  # stripped, upper case
    assert events["timestamp"].to_list()[3] == datetime(2011, 7, 1, 9, 0, tzinfo=UTC)  # BST
    assert events["timestamp"].to_list()[0] == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)  # GMT


def test_synthetic_catalog_prices_and_sales(synthetic: LoadResult):
    catalog = synthetic.frames["catalog"].sort("item_id")
    assert catalog["category"].to_list() == ["lantern", "holder"]
    assert catalog["base_price"].to_list() == [3.39, 2.55]  # modal unit price
    prices = synthetic.frames["prices"].filter(pl.col("item_id") == "85123A")
    assert prices["price"].to_list() == [2.55, 2.00, 2.55]  # 2011-07-01 repeats 2.55
    assert prices["promo"].to_list() == [False, True, False]
    sales = synthetic.frames["sales"].filter(pl.col("item_id") == "85123A")
    assert sales["period_start"].to_list()[0] == date(2010, 12, 1)
    assert sales["units"].to_list() == [6.0, 4.0, 1.0, 2.0]
    assert sales["promo"].to_list() == [False, False, True, False]


def test_synthetic_cancellations_are_returns_of_positive_units(synthetic: LoadResult):
    events = synthetic.frames["events"]
    returned = events.filter(pl.col("event_type") == "return").row(0, named=True)
    assert returned | {"timestamp": None} == {
        "event_id": "C536379-2", "user_id": "17850", "session_id": "C536379",
        "item_id": "85123A", "event_type": "return", "timestamp": None, "quantity": 1,
        "unit_price": 2.55, "request_id": None, "order_id": "C536379", "return_reason": None,
    }  # fmt: skip
    purchases = events.filter(pl.col("event_type") == "purchase")
    assert purchases["order_id"].to_list() == purchases["session_id"].to_list()
    sales = synthetic.frames["sales"]
    assert sales["units"].sum() == purchases["quantity"].sum(), "sales are units sold"


def test_synthetic_float_customer_ids_lose_trailing_zero(tmp_path: Path):
    result = load_online_retail(write_raw(tmp_path / "raw.parquet", pl.Float64()))
    assert set(result.frames["events"]["user_id"]) == {"17850", "13047"}


# --- the published data set -------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> LoadResult:
    return load("online_retail")


@pytest.fixture(scope="module")
def real_feeds(real: LoadResult) -> dict[str, pl.DataFrame]:
    return validate_feeds(real.frames)


@pytest.mark.real_data
def test_real_frames_pass_validation(real_feeds: dict[str, pl.DataFrame]):
    assert set(real_feeds) == {"events", "catalog", "prices", "sales"}


@pytest.mark.real_data
def test_real_drop_counts_account_for_every_row(real: LoadResult):
    assert real.source_rows == 541_909
    assert sum(real.dropped.values()) == real.source_rows - real.kept_rows
    assert real.dropped == {  # measured on the published file (see the module docstring)
        "non_product_code": 3_080,
        "non_positive_quantity": 1_324,
        "non_negative_cancellation": 0,
        "non_positive_price": 1_159,
        "missing_customer": 131_553,
        "returned_item_never_sold": 19,
    }


@pytest.mark.real_data
def test_real_counts_match_the_readme(real: LoadResult):
    events = real.frames["events"]
    # README: about 397,900 lines before removing non-product codes; they remove 1,629.
    purchases = events.filter(pl.col("event_type") == "purchase")
    assert abs(purchases.height - 397_900) <= 0.01 * 397_900
    assert purchases.height == 396_255 and real.kept_rows == events.height == 404_774
    # README: 4,338 customers and 3,665 items; the non-product rule removes 8 codes
    # (POST, M, C2, DOT, BANK CHARGES, PADS, 23444, 23702) and 4 postage-only customers.
    assert purchases["user_id"].n_unique() == 4_338 - 4
    assert purchases["item_id"].n_unique() == 3_665 - 8
    assert real.frames["catalog"].height == 3_665 - 8


@pytest.mark.real_data
def test_real_cancellations_are_returns_and_no_non_product_codes(real: LoadResult):
    events = real.frames["events"]
    cancelled = events["session_id"].str.starts_with("C")
    assert (cancelled == (events["event_type"] == "return")).all()
    returns = events.filter(cancelled)
    assert (returns.height, returns["quantity"].sum()) == (8_519, 269_416)
    assert (returns["order_id"] == returns["session_id"]).all()
    assert returns["item_id"].is_in(real.frames["catalog"]["item_id"].implode()).all()
    assert events["item_id"].str.contains(r"^[0-9]{5}[A-Z]*$").all()
    assert not events["item_id"].is_in(list(SERVICE_CODES)).any()
    assert (events["quantity"] > 0).all()
    assert (events["unit_price"] > 0).all()


@pytest.mark.real_data
def test_real_timestamps_are_utc(real_feeds: dict[str, pl.DataFrame]):
    events = real_feeds["events"]
    assert events.schema["timestamp"] == pl.Datetime("us", "UTC")
    # 2010-12-01 08:26 London is GMT, so 08:26 UTC.
    assert events["timestamp"].min() == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    # Invoice 556444 was written 2011-06-10 15:28 London, which is BST (UTC+1).
    summer = events.filter(pl.col("session_id") == "556444")["timestamp"]
    assert summer.to_list() == [datetime(2011, 6, 10, 14, 28, tzinfo=UTC)]


@pytest.mark.real_data
def test_real_catalog_prices_and_sales_are_consistent(real_feeds: dict[str, pl.DataFrame]):
    catalog = real_feeds["catalog"].filter(pl.col("item_id") == "85123A")
    assert catalog["category"].item() == "holder"
    prices = real_feeds["prices"].sort("item_id", "valid_from")
    repeats = prices.filter(pl.col("price") == pl.col("price").shift(1).over("item_id"))
    assert repeats.is_empty()  # one row per change
    units = real_feeds["sales"]["units"].sum()
    purchases = real_feeds["events"].filter(pl.col("event_type") == "purchase")
    assert units == pytest.approx(purchases["quantity"].sum())
