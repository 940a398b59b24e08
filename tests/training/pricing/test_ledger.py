"""The price ledger: a price takes effect at its valid_from and never earlier, entries
are only ever appended, legacy rows are kept, and rollbacks restore the right prices."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

from serving.prices import PriceBook
from serving.shop import FeedPrice, Shop
from storefront.feeds import write_feeds
from training.pricing import ledger
from training.pricing.actions import publish
from training.pricing.rollback import rollback

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)


def _rows(prices: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"item_id": list(prices), "price": list(prices.values()),
         "was_price": [p * 0.9 for p in prices.values()], "reasons": [[] for _ in prices]},
        schema_overrides={"reasons": pl.List(pl.String)},
    )  # fmt: skip


def _price(data_dir: Path, item: str, at: dt.datetime) -> float | None:
    found = ledger.prices_in_force(data_dir, at).filter(pl.col("item_id") == item)
    return found["price"][0] if found.height else None


def _write_feeds(data_dir: Path) -> None:
    """A two-item catalogue: a's feed price 5.00, b with no feed price (base 8.00)."""
    catalog = pl.DataFrame({"item_id": ["a", "b"], "category": ["x", "x"],
                            "base_price": [5.0, 8.0], "unit_cost": [1.0, 1.0],
                            "created_at": [T0 - 100 * DAY] * 2})  # fmt: skip
    prices = pl.DataFrame({"item_id": ["a"], "valid_from": [T0 - 50 * DAY], "price": [5.0],
                           "promo": [False]})  # fmt: skip
    write_feeds({"catalog": catalog, "prices": prices}, data_dir)


def test_a_price_takes_effect_at_its_valid_from_never_earlier(tmp_path: Path) -> None:
    publish(tmp_path, _rows({"a": 9.99}), "p1", "alice", T0 - DAY, valid_from=T0 - DAY)
    later = T0 + 3 * DAY
    publish(tmp_path, _rows({"a": 11.99}), "p2", "alice", T0, valid_from=later)
    assert _price(tmp_path, "a", T0) == 9.99, "approved today, in force in three days"
    assert _price(tmp_path, "a", later - US) == 9.99
    assert _price(tmp_path, "a", later) == 11.99, "in force at exactly its valid_from"
    entry = ledger.prices_in_force(tmp_path, later).row(0, named=True)
    assert entry["previous_price"] == 9.99 and entry["kind"] == "publish"
    assert _price(tmp_path, "a", T0 - DAY - US) is None


def test_time_zones_are_instants_and_naive_times_are_refused(tmp_path: Path) -> None:
    paris = dt.datetime.fromisoformat("2026-03-01T01:00+01:00")
    publish(tmp_path, _rows({"a": 9.99}), "p1", "alice", T0 - DAY, valid_from=paris)
    assert ledger.read_ledger(tmp_path)["valid_from"][0] == T0
    assert _price(tmp_path, "a", T0) == 9.99
    assert _price(tmp_path, "a", dt.datetime.fromisoformat("2026-02-28T23:59:59-00:30")) == 9.99
    assert _price(tmp_path, "a", T0 - US) is None
    with pytest.raises(ValueError, match="no time zone"):
        ledger.prices_in_force(tmp_path, dt.datetime(2026, 3, 1))
    with pytest.raises(ValueError, match=r"valid_from: .* no time zone"):
        publish(tmp_path, _rows({"a": 1.99}), "p2", "bob", T0, valid_from=dt.datetime(2026, 3, 2))


def test_ties_go_to_the_later_written_and_rejections_set_no_price(tmp_path: Path) -> None:
    publish(tmp_path, _rows({"a": 9.99}), "p1", "alice", T0 - DAY, valid_from=T0)
    publish(tmp_path, _rows({"a": 8.99}), "p2", "bob", T0 - DAY, valid_from=T0)
    ledger.append(tmp_path, ledger.reject_entry("p3", "carol", T0, "too low"))
    assert _price(tmp_path, "a", T0) == 8.99
    assert ledger.read_ledger(tmp_path)["kind"].to_list() == ["publish", "publish", "reject"]
    assert ledger.prices_in_force(tmp_path, T0 + DAY)["item_id"].to_list() == ["a"]


def test_earlier_entries_are_never_rewritten(tmp_path: Path) -> None:
    publish(tmp_path, _rows({"a": 9.99, "b": 4.99}), "p1", "alice", T0)
    ledger.append(tmp_path, ledger.reject_entry("p2", "bob", T0, "no"))
    folder = ledger.ledger_path(tmp_path)
    before = {p.name: hashlib.sha256(p.read_bytes()).digest() for p in folder.iterdir()}
    rows_before = ledger.read_ledger(tmp_path).write_ndjson().encode()
    publish(tmp_path, _rows({"a": 10.99}), "p3", "alice", T0 + DAY)
    after = {p.name: hashlib.sha256(p.read_bytes()).digest() for p in folder.iterdir()}
    assert {name: after[name] for name in before} == before, "old parts are byte-for-byte kept"
    entries = ledger.read_ledger(tmp_path)
    assert entries.head(3).write_ndjson().encode() == rows_before
    assert entries.height == 4


def test_a_rollback_or_override_needs_a_reason(tmp_path: Path) -> None:
    row = pl.DataFrame({"item_id": ["a"], "price": [9.99], "previous_price": [None],
                        "valid_from": [T0]})  # fmt: skip
    for kind in (ledger.ROLLBACK, ledger.OVERRIDE):
        with pytest.raises(ValueError, match="why"):
            ledger.append(tmp_path, ledger.new_entries(kind, row, "alice", T0, why=None))
    with pytest.raises(ValueError, match="kind"):
        ledger.append(tmp_path, ledger.new_entries("edit", row, "alice", T0, why="x"))
    assert ledger.read_ledger(tmp_path).is_empty()


def test_legacy_published_rows_are_read_as_publications(tmp_path: Path) -> None:
    legacy = pl.DataFrame(
        {"item_id": ["a", "b"], "price": [9.99, 4.99], "was_price": [8.99, None],
         "reasons": [["max_daily_change"], []], "valid_from": [T0, T0 + 3 * DAY],
         "proposal_id": ["old"] * 2, "approved_by": ["alice"] * 2,
         "approved_at": [T0 - DAY] * 2},
        schema_overrides={"valid_from": ledger.UTC_TYPE, "approved_at": ledger.UTC_TYPE,
                          "reasons": pl.List(pl.String)},
    )  # fmt: skip
    folder = ledger.ledger_path(tmp_path).parent
    folder.mkdir(parents=True)
    legacy.write_parquet(folder / ledger.LEGACY_FILE)
    raw = (folder / ledger.LEGACY_FILE).read_bytes()
    publish(tmp_path, _rows({"a": 10.99}), "new", "bob", T0 + DAY)
    entries = ledger.read_ledger(tmp_path)
    assert entries["kind"].to_list() == ["publish"] * 3
    assert entries["by"].to_list() == ["alice", "alice", "bob"]
    kept = ["item_id", "price", "was_price", "reasons", "valid_from", "proposal_id"]
    assert entries.head(2).select(kept).equals(legacy.select(kept))
    assert entries["previous_price"][2] == 9.99, "the legacy price was in force before"
    assert _price(tmp_path, "b", T0) is None and _price(tmp_path, "b", T0 + 3 * DAY) == 4.99
    assert (folder / ledger.LEGACY_FILE).read_bytes() == raw, "the legacy file is kept as is"


def test_the_price_book_serves_a_later_price_when_its_time_comes(tmp_path: Path) -> None:
    shop = Shop({"a": "x"}, {"a": FeedPrice(5.0, 4.5, False)}, ["a"])
    book = PriceBook(tmp_path, shop)
    later = T0 + 3 * DAY
    publish(tmp_path, _rows({"a": 9.99}), "p1", "alice", T0 - DAY, valid_from=T0 - DAY)
    publish(tmp_path, _rows({"a": 11.99}), "p2", "alice", T0, valid_from=later)
    prices = [book.prices(["a"], at)[0][0] for at in (T0, later - US, later, T0)]
    assert [p.price for p in prices] == [9.99, 9.99, 11.99, 9.99], "the file did not change"
    assert prices[2].proposal_id == "p2" and prices[2].approved_by == "alice"
    assert book.prices(["a"], T0 - 2 * DAY)[0][0].source == "feed"
    with pytest.raises(ValueError, match="no time zone"):
        book.prices(["a"], dt.datetime(2026, 3, 1))


def test_rollback_to_a_proposal_restores_its_prices_and_cancels_later_ones(
    tmp_path: Path,
) -> None:
    _write_feeds(tmp_path)
    publish(tmp_path, _rows({"a": 9.99}), "p1", "alice", T0 - DAY, valid_from=T0 - DAY)
    publish(tmp_path, _rows({"a": 10.99, "b": 7.99}), "p2", "alice", T0, valid_from=T0)
    publish(tmp_path, _rows({"a": 12.99}), "p3", "alice", T0, valid_from=T0 + 3 * DAY)
    before = ledger.read_ledger(tmp_path)
    now = T0 + DAY
    result = rollback(tmp_path, "bob", "p2 went wrong", now, to_proposal="p1")
    assert _price(tmp_path, "a", now) == 9.99
    assert _price(tmp_path, "a", T0 + 3 * DAY) == 9.99, "the pending p3 price is cancelled"
    assert _price(tmp_path, "b", now) == 8.0, "no ledger price then: the catalogue price"
    assert _price(tmp_path, "a", now - US) == 10.99, "history is not rewritten"
    entries = ledger.read_ledger(tmp_path)
    assert entries.head(before.height).equals(before)
    written = result.entries.sort("item_id", "valid_from")
    assert set(written["kind"]) == {"rollback"} and set(written["why"]) == {"p2 went wrong"}
    assert written.select("item_id", "price", "previous_price").rows() == [
        ("a", 9.99, 10.99), ("a", 9.99, 12.99), ("b", 8.0, 7.99)
    ]  # fmt: skip
    again = rollback(tmp_path, "bob", "twice", now + US, to_proposal="p1")
    assert again.entries.is_empty() and "nothing to roll back" in again.note


def test_rollback_at_a_time_restores_what_was_in_force_then(tmp_path: Path) -> None:
    _write_feeds(tmp_path)
    publish(tmp_path, _rows({"a": 9.99, "b": 6.99}), "p1", "alice", T0, valid_from=T0)
    publish(tmp_path, _rows({"a": 10.99}), "p2", "alice", T0 + DAY, valid_from=T0 + DAY)
    publish(tmp_path, _rows({"b": 7.49}), "p3", "alice", T0 + 2 * DAY, valid_from=T0 + 2 * DAY)
    now = T0 + 3 * DAY
    start = now + dt.timedelta(hours=1)
    result = rollback(tmp_path, "bob", "undo", now, to_time=T0 + DAY - US, valid_from=start)
    assert result.entries["valid_from"].unique().to_list() == [start]
    assert (_price(tmp_path, "a", start), _price(tmp_path, "b", start)) == (9.99, 6.99)
    assert (_price(tmp_path, "a", now), _price(tmp_path, "b", now)) == (10.99, 7.49)
    with pytest.raises(ValueError, match="exactly one"):
        rollback(tmp_path, "bob", "undo", now)
    with pytest.raises(ValueError, match="never published"):
        rollback(tmp_path, "bob", "undo", now, to_proposal="p9")
    with pytest.raises(ValueError, match="no time zone"):
        rollback(tmp_path, "bob", "undo", now, to_time=dt.datetime(2026, 3, 1))
