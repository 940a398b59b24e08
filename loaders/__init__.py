"""Loaders of the real retail data sets into the feed contract.

Each loader reads one raw data set in place (see ``../shared/data/README.md``), applies
its drop rules in order, counting the rows each removes, and returns the feed tables;
the caller validates and writes them (:func:`storefront.feeds.write_feeds`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loaders.amazon_toys import load_amazon_toys
from loaders.base import LoadResult
from loaders.breakfast_at_the_frat import load_breakfast_at_the_frat
from loaders.m5_tiny import load_m5_tiny
from loaders.online_retail import load_online_retail
from storefront.config import shared_data_dir

SHARED_DATA: Path = shared_data_dir()
"""Folder of the shared real data sets (read in place, never copied into the repo)."""

LOADERS: dict[str, Callable[[Path], LoadResult]] = {
    "online_retail": load_online_retail,
    "breakfast_at_the_frat": load_breakfast_at_the_frat,
    "m5_tiny": load_m5_tiny,
    "amazon_toys": load_amazon_toys,
}

DEFAULT_SOURCES: dict[str, Path] = {
    "online_retail": SHARED_DATA / "online_retail" / "online_retail.parquet",
    "breakfast_at_the_frat": SHARED_DATA / "breakfast_at_the_frat",
    "m5_tiny": SHARED_DATA / "m5_tiny" / "m5_tiny.parquet",
    "amazon_toys": SHARED_DATA / "amazon_toys" / "toys_5core.parquet",
}


def load(name: str, source: Path | None = None) -> LoadResult:
    """Run the loader called ``name`` on ``source`` (default: its shared data set).

    Args:
        name: One of :data:`LOADERS`.
        source: The raw data (a file, or the folder for ``breakfast_at_the_frat``).

    Returns:
        The loader's feed tables and row accounting.

    Raises:
        ValueError: ``name`` is not a known loader.
        FileNotFoundError: The source does not exist.
    """
    if name not in LOADERS:
        raise ValueError(f"unknown loader {name!r}; known loaders: {', '.join(LOADERS)}")
    path = Path(source) if source is not None else DEFAULT_SOURCES[name]
    if not path.exists():
        raise FileNotFoundError(f"source of loader {name!r} not found: {path}")
    return LOADERS[name](path)


__all__ = ["DEFAULT_SOURCES", "LOADERS", "LoadResult", "load"]
