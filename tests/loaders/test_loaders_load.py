"""The loader registry: names, default sources and errors of ``loaders.load``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from loaders import DEFAULT_SOURCES, LOADERS, load
from storefront.config import shared_data_dir

NAMES = {"online_retail", "breakfast_at_the_frat", "m5_tiny", "amazon_toys"}


def test_registry_names_and_default_sources():
    assert set(LOADERS) == NAMES
    assert set(DEFAULT_SOURCES) == NAMES
    shared = shared_data_dir()
    assert all(path.is_relative_to(shared) for path in DEFAULT_SOURCES.values())
    assert DEFAULT_SOURCES["online_retail"].suffix == ".parquet"
    assert DEFAULT_SOURCES["m5_tiny"].suffix == ".parquet"
    assert DEFAULT_SOURCES["breakfast_at_the_frat"].suffix == ""  # a folder


def test_unknown_loader_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="'nope'") as info:
        load("nope")
    assert all(name in str(info.value) for name in NAMES)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_missing_source_is_named(name: str, tmp_path: Path):
    missing = tmp_path / "absent"
    with pytest.raises(FileNotFoundError, match="absent"):
        load(name, missing)


def test_explicit_source_is_used(tmp_path: Path):
    source = tmp_path / "m5.parquet"
    pl.DataFrame(
        {
            "item_id": ["HOBBIES_1_001"] * 2,
            "dept_id": ["HOBBIES_1"] * 2,
            "cat_id": ["HOBBIES"] * 2,
            "store_id": ["CA_1"] * 2,
            "value": [0, 1],
            "date": [date(2011, 1, 29), date(2011, 1, 30)],
            "event_name_1": [None, None],
            "snap": [0, 0],
            "sell_price": [None, 8.5],
        }
    ).write_parquet(source)
    result = load("m5_tiny", source)
    assert (result.source_rows, result.kept_rows) == (2, 1)
