"""Shared fixtures: small simulated shops, built once per test session."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator import TRUTH_FILE, Simulation, SimulationConfig, simulate
from storefront.feeds import write_feeds

TEST_START = dt.date(2025, 6, 1)
"""The test shops' first day: pinned, so every test run simulates the same data (by
default the simulator's history ends today)."""


def small_config(**overrides: object) -> SimulationConfig:
    """A shop small enough for unit tests (about 30k events, well under a second)."""
    base = SimulationConfig(start_date=TEST_START, days=60, n_users=3000).model_copy(
        update={"catalog": SimulationConfig().catalog.model_copy(update={"n_items": 300})}
    )
    base = base.model_copy(
        update={"behaviour": base.behaviour.model_copy(update={"sessions_per_day": 120})}
    )
    return base.model_copy(update=overrides)


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Tests track into a temporary MLflow store, never the project's ``mlflow.db``."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri


@pytest.fixture(scope="session")
def make_config() -> Callable[..., SimulationConfig]:
    """The small test shop's configuration, with top-level overrides."""
    return small_config


@pytest.fixture(scope="session")
def small_sim() -> Simulation:
    return simulate(small_config())


@pytest.fixture(scope="session")
def default_sim() -> Simulation:
    """The default-size shop (about 2M events, a few seconds)."""
    return simulate(SimulationConfig(start_date=TEST_START))


@pytest.fixture()
def feed_dir(small_sim: Simulation, tmp_path: Path) -> Path:
    """A fresh shop folder holding the small shop's feeds and truth (no state yet)."""
    path = tmp_path / "feeds"
    write_feeds(small_sim.feeds, path, side_files={TRUTH_FILE: small_sim.truth.save})
    return path


@pytest.fixture(scope="session")
def ray_address() -> str:
    """A local Ray head on loopback (2 CPUs), started by ``scripts/services.sh ray``
    like Redis and PostgreSQL; its address for ``ray.address``."""
    import subprocess

    from storefront.config import PROJECT_ROOT

    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "services.sh"), "ray"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    settings = dict(line.split("=", 1) for line in done.stdout.split() if "=" in line)
    return settings["STOREFRONT_TEST_RAY"]
