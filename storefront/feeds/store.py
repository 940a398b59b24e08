"""Reading and writing a shop's feeds.

The feeds of a shop folder (:class:`storefront.workspace.Workspace`, ``feeds/``) are
``events.parquet``, ``catalog.parquet``, ``inventory.parquet``, ``prices.parquet`` and
``sales.parquet`` (each optional where a pipeline does not need it), plus any side files
a source adds (the simulator's ``ground_truth.npz``). Writes are all-or-nothing:
everything is validated, written to a temporary sibling folder, and only then swapped in
by rename, so a failed load leaves the previous feeds untouched. Only the feed folder is
replaced: the shop's state (``state/``) is never touched by a refresh.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from storefront.feeds.logged import combine_events
from storefront.feeds.schemas import EVENTS, FEED_NAMES, SCHEMAS
from storefront.feeds.validate import FeedValidationError, validate_feeds
from storefront.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Folded:
    """What folding the service's events into the events feed did."""

    added: int
    """Events written to the feed that it did not hold."""
    already: int
    """Logged events the feed already held (by ``event_id``), left as they were."""
    total: int
    """Events in the feed afterwards."""
    first_added: dt.datetime | None = None
    """The earliest added event's time (``None``: nothing added)."""


@dataclass(frozen=True)
class Feeds:
    """Validated feed tables of one shop; a table is ``None`` when the feed is absent."""

    events: pl.DataFrame | None = None
    catalog: pl.DataFrame | None = None
    inventory: pl.DataFrame | None = None
    prices: pl.DataFrame | None = None
    sales: pl.DataFrame | None = None

    def present(self) -> dict[str, pl.DataFrame]:
        """The tables that are there, by feed name."""
        return {f.name: t for f in fields(self) if (t := getattr(self, f.name)) is not None}

    def require(self, *names: str) -> None:
        """Raise :class:`FeedValidationError` if any of ``names`` is absent."""
        for name in names:
            if getattr(self, name) is None:
                raise FeedValidationError(SCHEMAS[name].file_name, "feed is required but missing")


def read_feeds(data_dir: Path | str, required: Iterable[str] = ()) -> Feeds:
    """Read and validate every feed present in the shop folder ``data_dir``.

    Args:
        data_dir: The shop folder.
        required: Feed names the caller cannot do without.

    Returns:
        The validated feeds.

    Raises:
        FileNotFoundError: ``data_dir`` does not exist.
        FeedValidationError: A required feed is missing or a feed breaks the contract.
    """
    workspace = Workspace.open(data_dir)
    frames: dict[str, pl.DataFrame] = {}
    for name in FEED_NAMES:
        path = workspace.feed_file(SCHEMAS[name].file_name)
        if path.exists():
            try:
                frames[name] = pl.read_parquet(path)
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise FeedValidationError(path.name, f"not a readable parquet file: {exc}") from exc
    feeds = Feeds(**validate_feeds(frames))
    feeds.require(*required)
    if feeds.inventory is None and feeds.events is not None:
        log.info("no inventory feed in %s: stock is treated as unlimited", workspace.feeds)
    return feeds


def write_feeds(
    feeds: Feeds | Mapping[str, pl.DataFrame],
    data_dir: Path | str,
    side_files: Mapping[str, Callable[[Path], None]] | None = None,
) -> Feeds:
    """Validate ``feeds`` and replace the shop's feed folder with them in one rename.

    Args:
        feeds: The tables to write.
        data_dir: The shop folder (made when new); its previous feeds are replaced only
            on success, and its state is never touched.
        side_files: Extra files to write alongside, as ``{file name: writer(path)}``.

    Returns:
        The validated feeds as written.

    Raises:
        FeedValidationError: A table breaks the contract; nothing is written.
    """
    frames = feeds.present() if isinstance(feeds, Feeds) else dict(feeds)
    clean = Feeds(**validate_feeds(frames))
    target = Workspace.open(data_dir, create=True).feeds
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for name, table in clean.present().items():
            table.write_parquet(tmp / SCHEMAS[name].file_name, compression="zstd")
        for file_name, writer in (side_files or {}).items():
            writer(tmp / file_name)
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return clean


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` with ``new`` by renames, restoring the old copy on failure."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def fold_events(data_dir: Path | str, logged: pl.DataFrame) -> Folded:
    """Add the service's logged events to the shop's events feed, each ``event_id``
    once (the feed's copy wins), in one atomic swap of the feed folder.

    The other feeds and the folder's side files are carried over unchanged; when
    nothing is new, nothing is written.

    Args:
        data_dir: The shop folder.
        logged: Events in the contract's columns (``storefront.feeds.logged``).

    Returns:
        How many events were added and how many the feed already held.

    Raises:
        FeedValidationError: The feeds with the added events break the contract (for
            example an event of an item the catalog lacks); nothing is written.
    """
    current = read_feeds(data_dir)
    feed = current.events if current.events is not None else logged.clear()
    combined, already = combine_events(feed, logged)
    added = combined.height - feed.height
    if added == 0:
        return Folded(0, already, feed.height)
    new = combined.slice(feed.height)
    tables = {**current.present(), EVENTS.name: combined}
    folder = Workspace.open(data_dir).feeds
    feed_files = {SCHEMAS[name].file_name for name in FEED_NAMES}
    side = {
        p.name: functools.partial(_copy, p)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in feed_files
    }
    write_feeds(tables, data_dir, side_files=side)
    return Folded(added, already, combined.height, new["timestamp"].min())  # type: ignore[arg-type]


def _copy(source: Path, target: Path) -> None:
    shutil.copy2(source, target)
