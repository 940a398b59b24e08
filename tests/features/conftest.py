"""Fixtures of the feature-store tests: a small simulated shop with its store built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from features.build import build_features
from features.config import FeatureConfig
from features.store import open_store
from simulator import TRUTH_FILE, Simulation, SimulationConfig, simulate
from storefront.feeds import write_feeds


@pytest.fixture(scope="session")
def shop(make_config: Callable[..., SimulationConfig]) -> Simulation:
    """A 40-day shop of 1,500 shoppers and 200 items."""
    cfg = make_config(days=40, n_users=1500)
    cfg = cfg.model_copy(
        update={
            "catalog": cfg.catalog.model_copy(update={"n_items": 200}),
            "behaviour": cfg.behaviour.model_copy(update={"sessions_per_day": 150}),
        }
    )
    return simulate(cfg)


@pytest.fixture(scope="session")
def built_dir(shop: Simulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop's feed directory with its feature store built (embedded profile)."""
    path = tmp_path_factory.mktemp("shop") / "feeds"
    write_feeds(shop.feeds, path, side_files={TRUTH_FILE: shop.truth.save})
    build_features(path, FeatureConfig())
    return path


@pytest.fixture(scope="session")
def store(built_dir: Path) -> Any:
    return open_store(built_dir, FeatureConfig().store)
