"""Feeds in: simulate a shop, load a real data set, validate a shop's feeds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from jobs.shop import open_shop, shop_path
from storefront.config import load_config
from storefront.feeds import Feeds, read_feeds, write_feeds
from storefront.progress import progress_bar


@dataclass(frozen=True)
class FeedsReport:
    """Feeds a job wrote or checked, and where."""

    feeds: Feeds
    data_dir: Path
    seconds: float = 0.0


@dataclass(frozen=True)
class LoadReport(FeedsReport):
    """A real data set loaded into feeds, with the rows its loader dropped, by reason."""

    name: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    kept_rows: int = 0
    source_rows: int = 0


def simulate(
    data_dir: Path | None, config: Path | None = None, seed: int | None = None, scale: float = 1.0
) -> FeedsReport:
    """Simulate a shop and write its feeds and ground truth (the shop's state is kept).

    Args:
        data_dir: The shop folder (made when new; default ``data/shop``).
        config: Simulation YAML (default ``configs/simulation.yaml``).
        seed: Overrides the configured seed.
        scale: Scales shoppers, items and sessions.
    """
    from simulator import SimulationConfig
    from simulator import simulate as run
    from simulator.truth import TRUTH_FILE

    started = time.perf_counter()
    folder = shop_path(data_dir)
    cfg = load_config(SimulationConfig, config, name="simulation")
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    if scale != 1.0:
        cfg = cfg.scaled(scale)
    with progress_bar("simulating the storefront (days)", cfg.days) as advance:
        sim = run(cfg, on_day=lambda _day: advance(1))
    with progress_bar(f"writing feeds to {folder}", None):
        feeds = write_feeds(sim.feeds, folder, side_files={TRUTH_FILE: sim.truth.save})
    return FeedsReport(feeds, folder, time.perf_counter() - started)


def load(name: str, data_dir: Path | None, source: Path | None = None) -> LoadReport:
    """Load a real retail data set into the shop's feeds (the shop's state is kept).

    Args:
        name: ``online_retail``, ``breakfast_at_the_frat`` or ``m5_tiny``.
        data_dir: The shop folder (made when new).
        source: Raw data (default: the copy in ``../shared/data``).
    """
    from loaders import load as read

    started = time.perf_counter()
    folder = shop_path(data_dir)
    with progress_bar(f"loading {name}", None):
        result = read(name, source)
    with progress_bar(f"validating and writing feeds to {folder}", None):
        feeds = write_feeds(result.frames, folder)
    return LoadReport(feeds, folder, time.perf_counter() - started, name, dict(result.dropped),
                      result.kept_rows, result.source_rows)  # fmt: skip


def validate(data_dir: Path | None, required: tuple[str, ...] = ()) -> FeedsReport:
    """Check every feed of a shop against the contract.

    Raises:
        FileNotFoundError: The folder does not exist or holds no feed.
        storefront.feeds.FeedValidationError: A feed breaks the contract (named).
    """
    folder = open_shop(data_dir)
    with progress_bar(f"validating {folder}", None):
        feeds = read_feeds(folder, required=required)
    if not feeds.present():
        raise FileNotFoundError(f"no feed files (*.parquet) in {folder}")
    return FeedsReport(feeds, folder)
