"""Each class of bad input is refused whole, with the file, row and column named."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from simulator import Simulation
from storefront.feeds import FeedValidationError, read_feeds, validate_feeds, write_feeds
from storefront.feeds.schemas import MAX_RETURN_REASON
from storefront.workspace import Workspace

Frames = dict[str, pl.DataFrame]


def _set(frames: Frames, feed: str, column: str, row: int, value: object) -> Frames:
    table = frames[feed]
    series = table[column].to_list()
    series[row] = value
    return {
        **frames,
        feed: table.with_columns(pl.Series(column, series, dtype=table[column].dtype)),
    }


def _with(frames: Frames, feed: str, table: pl.DataFrame) -> Frames:
    return {**frames, feed: table}


def _row_numbers(name: str, dtype: type) -> pl.Expr:
    return pl.int_range(pl.len()).cast(dtype).alias(name)


def _flag_with(row: int, value: float, dtype: type) -> pl.Expr:
    """The promo flag as numbers, with ``value`` at ``row``."""
    numbers = pl.col("promo").cast(dtype)
    return pl.when(pl.int_range(pl.len()) == row).then(value).otherwise(numbers)


def _returns(events: pl.DataFrame, row: int, reason: str) -> pl.DataFrame:
    """``events`` with ``row`` made a return carrying ``reason`` (others have none)."""
    at = pl.int_range(pl.len()) == row
    return events.with_columns(
        event_type=pl.when(at).then(pl.lit("return")).otherwise("event_type"),
        order_id=pl.when(at).then(pl.lit("o-1")),
        return_reason=pl.when(at).then(pl.lit(reason)),
    )


def _prices_as_text(frames: Frames) -> Frames:
    return _with(frames, "events", frames["events"].with_columns(pl.col("unit_price").cast(str)))


CASES: dict[str, tuple[Callable[[Frames], Frames], str, str | None, int | None, str]] = {
    "missing column": (
        lambda f: _with(f, "events", f["events"].drop("quantity")),
        "events.parquet", "quantity", None, "missing required column",
    ),
    "unknown column": (
        lambda f: _with(f, "catalog", f["catalog"].with_columns(colour=pl.lit("red"))),
        "catalog.parquet", "colour", None, "unknown column",
    ),
    "wrong type": (
        lambda f: _set(_prices_as_text(f), "events", "unit_price", 17, "twelve"),
        "events.parquet", "unit_price", 17, "'twelve' is not a float",
    ),
    "float ids": (
        lambda f: _with(f, "catalog", f["catalog"].with_columns(_row_numbers("category", float))),
        "catalog.parquet", "category", 0, "wrong type Float64, expected str (e.g. value 0.0",
    ),
    "flag out of 0/1": (
        lambda f: _with(f, "prices", f["prices"].with_columns(promo=_flag_with(6, 2, int))),
        "prices.parquet", "promo", 6, "e.g. value 2",
    ),
    "fractional flag": (
        lambda f: _with(f, "prices", f["prices"].with_columns(promo=_flag_with(4, 0.5, float))),
        "prices.parquet", "promo", 4, "e.g. value 0.5",
    ),
    "negative quantity": (
        lambda f: _set(f, "events", "quantity", 5, -2),
        "events.parquet", "quantity", 5, "quantity >= 1",
    ),
    "zero quantity": (
        lambda f: _set(f, "events", "quantity", 9, 0),
        "events.parquet", "quantity", 9, "quantity >= 1",
    ),
    "negative stock": (
        lambda f: _set(f, "inventory", "on_hand", 3, -1),
        "inventory.parquet", "on_hand", 3, "on_hand >= 0",
    ),
    "negative units": (
        lambda f: _set(f, "sales", "units", 4, -1.0),
        "sales.parquet", "units", 4, "units >= 0",
    ),
    "zero price": (
        lambda f: _set(f, "prices", "price", 2, 0.0),
        "prices.parquet", "price", 2, "price > 0",
    ),
    "negative base price": (
        lambda f: _set(f, "catalog", "base_price", 7, -3.5),
        "catalog.parquet", "base_price", 7, "base_price > 0",
    ),
    "unknown event type": (
        lambda f: _set(f, "events", "event_type", 11, "click"),
        "events.parquet", "event_type", 11, "unknown value 'click'",
    ),
    "naive timestamps": (
        lambda f: _with(
            f, "events", f["events"].with_columns(pl.col("timestamp").dt.replace_time_zone(None))
        ),
        "events.parquet", "timestamp", 0, "naive timestamp",
    ),
    "duplicate event id": (
        lambda f: _set(f, "events", "event_id", 20, f["events"]["event_id"][3]),
        "events.parquet", "event_id", 20, "duplicate key",
    ),
    "item not in catalog": (
        lambda f: _set(f, "events", "item_id", 30, "no-such-item"),
        "events.parquet", "item_id", 30, "not in the catalog",
    ),
    "return reason too long": (
        lambda f: _with(f, "events", _returns(f["events"], 12, "x" * (MAX_RETURN_REASON + 1))),
        "events.parquet", "return_reason", 12, f"longer than {MAX_RETURN_REASON}",
    ),
    "missing user": (
        lambda f: _set(f, "events", "user_id", 8, None),
        "events.parquet", "user_id", 8, "missing value",
    ),
}  # fmt: skip


def _snapshot(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_naming_file_row_and_column(
    case: str, small_sim: Simulation, feed_dir: Path
) -> None:
    corrupt, file, column, row, reason = CASES[case]
    before = _snapshot(Workspace(feed_dir).feeds)
    frames = corrupt(small_sim.feeds.present())

    with pytest.raises(FeedValidationError) as caught:
        write_feeds(frames, feed_dir)

    error = caught.value
    assert (error.file, error.column, error.row) == (file, column, row)
    assert reason in str(error)
    assert file in str(error)
    if row is not None:
        assert f"row {row}" in str(error)
    # refused whole: the previous feeds are untouched and no temporary folder is left
    assert _snapshot(Workspace(feed_dir).feeds) == before
    assert sorted(p.name for p in feed_dir.iterdir()) == ["feeds", "workspace.json"]


def test_corrupt_file_on_disk_is_refused_when_read(feed_dir: Path) -> None:
    path = Workspace(feed_dir).feed_file("events.parquet")
    pl.read_parquet(path).with_columns(
        quantity=pl.when(pl.int_range(pl.len()) == 42).then(-5).otherwise(pl.col("quantity"))
    ).write_parquet(path)

    with pytest.raises(FeedValidationError, match=r"events.parquet, row 42, column 'quantity'"):
        read_feeds(feed_dir)


def test_unreadable_file_is_refused(feed_dir: Path) -> None:
    Workspace(feed_dir).feed_file("prices.parquet").write_text("not parquet")
    with pytest.raises(FeedValidationError, match=r"prices\.parquet: not a readable parquet"):
        read_feeds(feed_dir)


def test_counts_every_row_breaking_the_rule(small_sim: Simulation) -> None:
    frames = small_sim.feeds.present()
    events = frames["events"].with_columns(
        unit_price=pl.when(pl.int_range(pl.len()) % 100 == 0).then(0.0).otherwise("unit_price")
    )
    with pytest.raises(FeedValidationError) as caught:
        validate_feeds(frames | {"events": events})
    assert caught.value.n_rows == (events.height + 99) // 100


def test_timezone_aware_timestamps_are_normalised_to_utc(small_sim: Simulation) -> None:
    frames = small_sim.feeds.present()
    events = frames["events"].with_columns(pl.col("timestamp").dt.convert_time_zone("Asia/Tokyo"))
    clean = validate_feeds({"catalog": frames["catalog"], "events": events})["events"]
    assert clean.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert clean["timestamp"].equals(frames["events"]["timestamp"])


def test_integer_columns_are_widened(small_sim: Simulation) -> None:
    frames = small_sim.feeds.present()
    inventory = frames["inventory"].with_columns(pl.col("on_hand").cast(pl.Int32))
    clean = validate_feeds({"catalog": frames["catalog"], "inventory": inventory})
    assert clean["inventory"].schema["on_hand"] == pl.Int64


def test_optional_feeds_may_be_absent_but_required_ones_are_named(feed_dir: Path) -> None:
    Workspace(feed_dir).feed_file("inventory.parquet").unlink()
    feeds = read_feeds(feed_dir, required=("events", "catalog"))
    assert feeds.inventory is None
    with pytest.raises(FeedValidationError, match=r"inventory\.parquet: feed is required"):
        read_feeds(feed_dir, required=("inventory",))


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_feeds(tmp_path / "nowhere")


def test_integer_ids_and_flags_are_cast_losslessly_and_logged(
    small_sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    frames = small_sim.feeds.present()
    codes = {item: n for n, item in enumerate(frames["catalog"]["item_id"].to_list())}
    as_int = pl.col("item_id").replace_strict(codes, return_dtype=pl.Int64)
    catalog = frames["catalog"].with_columns(as_int)
    prices = frames["prices"].with_columns(as_int, pl.col("promo").cast(pl.Int8))
    sales = frames["sales"].with_columns(
        as_int, pl.lit(7, pl.Int32).alias("location_id"), pl.col("promo").cast(pl.UInt8)
    )

    with caplog.at_level(logging.INFO, logger="storefront.feeds.validate"):
        clean = validate_feeds({"catalog": catalog, "prices": prices, "sales": sales})

    assert clean["catalog"]["item_id"].to_list() == [str(n) for n in range(catalog.height)]
    assert clean["sales"].schema["location_id"] == pl.String
    assert clean["sales"]["location_id"].unique().to_list() == ["7"]
    assert clean["prices"]["promo"].to_list() == frames["prices"]["promo"].to_list()
    assert clean["sales"]["promo"].to_list() == frames["sales"]["promo"].to_list()
    logged = caplog.text
    for file, column in [("catalog.parquet", "item_id"), ("sales.parquet", "location_id"),
                         ("prices.parquet", "promo"), ("sales.parquet", "promo")]:  # fmt: skip
        assert f"{file}, column '{column}': cast" in logged


def test_flags_with_nulls_are_cast_when_nullable(small_sim: Simulation) -> None:
    frames = small_sim.feeds.present()
    sales = frames["sales"].with_columns(
        feature=pl.Series(
            [1, None] * (frames["sales"].height // 2) + [0] * (frames["sales"].height % 2)
        )
    )
    clean = validate_feeds({"catalog": frames["catalog"], "sales": sales})["sales"]
    assert clean.schema["feature"] == pl.Boolean
    assert clean["feature"].head(2).to_list() == [True, None]


def test_returns_are_events_and_feeds_without_the_return_columns_stay_valid(
    small_sim: Simulation,
) -> None:
    frames = small_sim.feeds.present()
    events = frames["events"].drop("order_id", "return_reason", strict=False)
    assert "order_id" not in validate_feeds({**frames, "events": events})["events"].columns
    returned = _returns(events, 3, "wrong size")
    clean = validate_feeds({**frames, "events": returned})["events"]
    row = clean.row(3, named=True)
    assert row["event_type"] == "return" and row["order_id"] == "o-1"
    assert row["return_reason"] == "wrong size" and clean["return_reason"].null_count() == (
        clean.height - 1
    )
