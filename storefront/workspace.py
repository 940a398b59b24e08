"""The shop's folder: the only code that knows its layout.

A shop folder (``--data-dir``, ``$STOREFRONT_DATA_DIR``, default ``data/shop``) holds the
feeds apart from everything the shop made from them or on top of them::

    <shop>/
      workspace.json          layout version
      feeds/                  replaced whole, atomically, on every load / simulate
        events.parquet catalog.parquet inventory.parquet prices.parquet sales.parquet
        ground_truth.npz      (the simulator's truth, a side file of its feeds)
      state/                  never touched by a feed refresh
        feature_store/        Feast: offline tables, registry, online store, build state
        forecasts/            demand forecasts
        pricing/              the price ledger, proposals and their reports, elasticities
        serving/              event log, pseudonym key, service log, local model copies
        experiments.db        the experiment store (embedded profile)
        reports/              experiment reports

Every package asks a :class:`Workspace` for its paths. A folder in the first layout
(feeds and state side by side at the top) is moved into this one on first use, losing
nothing, and the move is logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LAYOUT_VERSION = 2
MARKER = "workspace.json"
FEEDS, STATE = "feeds", "state"

LEGACY_FEED_FILES: tuple[str, ...] = (
    "events.parquet",
    "catalog.parquet",
    "inventory.parquet",
    "prices.parquet",
    "sales.parquet",
    "ground_truth.npz",
)
"""Files the first layout kept at the top of the folder, now under ``feeds/``."""

LEGACY_STATE: tuple[str, ...] = (
    "feature_store",
    "forecasts",
    "pricing",
    "serving",
    "experiments.db",
    "experiments.db-wal",
    "experiments.db-shm",
    "reports",
)
"""State the first layout kept at the top of the folder, now under ``state/``."""

_migrated: set[Path] = set()
_lock = threading.Lock()


class WorkspaceError(FileNotFoundError):
    """The shop folder does not exist, or cannot be moved into the current layout."""


@dataclass(frozen=True)
class Workspace:
    """Paths of one shop folder. Building one does no I/O; :meth:`open` checks and
    migrates.

    Args:
        root: The shop folder.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @classmethod
    def open(cls, root: Path | str, *, create: bool = False) -> Workspace:
        """The workspace at ``root``, moved into the current layout if it is older.

        Args:
            root: The shop folder.
            create: Make the folder when it does not exist (feed writers); otherwise a
                missing folder is an error, so a mistyped ``--data-dir`` never starts
                an empty shop.

        Raises:
            WorkspaceError: The folder does not exist (and ``create`` is false).
        """
        workspace = cls(Path(root))
        if not workspace.root.is_dir():
            if not create:
                raise WorkspaceError(
                    f"shop folder {workspace.root} does not exist; make one with "
                    "`storefront simulate` or `storefront load`, or check --data-dir"
                )
            workspace.root.mkdir(parents=True, exist_ok=True)
        workspace.migrate()
        return workspace

    # --- feeds --------------------------------------------------------------------------
    @property
    def feeds(self) -> Path:
        """The feed folder, replaced whole on every refresh."""
        return self.root / FEEDS

    def feed_file(self, name: str) -> Path:
        """A file of the feed folder (a feed table or a source's side file)."""
        return self.feeds / name

    # --- state --------------------------------------------------------------------------
    @property
    def state(self) -> Path:
        """Everything the shop made; never touched by a feed refresh."""
        return self.root / STATE

    @property
    def feature_store(self) -> Path:
        """Feast's offline tables, registry, online store and build state."""
        return self.state / "feature_store"

    @property
    def forecasts(self) -> Path:
        """Demand forecasts written after training."""
        return self.state / "forecasts"

    @property
    def pricing(self) -> Path:
        """The price ledger, elasticity estimates and promotion response."""
        return self.state / "pricing"

    @property
    def proposals(self) -> Path:
        """Price proposals (parquet + JSON) and their HTML reports."""
        return self.pricing / "proposals"

    @property
    def serving(self) -> Path:
        """The service's event log, pseudonym key, log files and model copies."""
        return self.state / "serving"

    @property
    def event_log(self) -> Path:
        """The service's embedded event database (SQLite, WAL)."""
        return self.serving / "events.db"

    @property
    def pseudonym_key(self) -> Path:
        """HMAC key of shopper pseudonyms (experiment variants depend on it)."""
        return self.serving / "pseudonym.key"

    @property
    def service_log(self) -> Path:
        """The service's own log (size-rotated, see ``serving.config.LogConfig``)."""
        return self.serving / "service.log"

    @property
    def service_output(self) -> Path:
        """Console output of a service started by the quickstart (startup, BentoML's
        own lines); the service's log records go to :attr:`service_log`."""
        return self.serving / "service.out"

    @property
    def model_copies(self) -> Path:
        """Local copies of the served model versions."""
        return self.serving / "models"

    @property
    def experiments_db(self) -> Path:
        """The embedded experiment store."""
        return self.state / "experiments.db"

    @property
    def reports(self) -> Path:
        """Experiment reports (JSON + HTML), one folder per experiment."""
        return self.state / "reports"

    @property
    def retrain(self) -> Path:
        """The retraining loop's run history (``runs.jsonl``, append-only) and lock."""
        return self.state / "retrain"

    @property
    def retrain_history(self) -> Path:
        """One JSON line per retrain or scheduled build: what ran and how it ended."""
        return self.retrain / "runs.jsonl"

    @property
    def retrain_lock(self) -> Path:
        """Held while a retrain or a scheduled build runs (two never overlap)."""
        return self.retrain / "run.lock"

    def state_paths(self) -> list[Path]:
        """Every file under ``state/`` (for audits and tests), sorted."""
        return sorted(p for p in self.state.rglob("*") if p.is_file())

    # --- layout -------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Move a folder of the first layout into the current one (once per process;
        a folder whose ``workspace.json`` marks the current layout is left as it is).

        Returns:
            What was moved, as ``"old → new"`` lines (empty when nothing was).

        Raises:
            WorkspaceError: A legacy entry and its new place both exist (nothing is
                overwritten; the user decides which to keep).
        """
        with _lock:
            if self.root in _migrated or not self.root.is_dir():
                return []
            marker = self.root / MARKER
            moved = [] if marker.exists() else self._move_legacy()
            self._write_marker(marker)
            _migrated.add(self.root)
        for line in moved:
            log.info("workspace %s: moved %s", self.root, line)
        if moved:
            log.warning(
                "shop folder %s was in the old layout: %d entries moved under feeds/ and "
                "state/ (nothing removed)",
                self.root,
                len(moved),
            )
        return moved

    def _move_legacy(self) -> list[str]:
        plan = [(self.root / n, self.feeds / n) for n in LEGACY_FEED_FILES]
        plan += [(self.root / n, self.state / n) for n in LEGACY_STATE]
        plan = [(old, new) for old, new in plan if old.exists()]
        clashes = [f"{old} and {new}" for old, new in plan if new.exists()]
        if clashes:
            raise WorkspaceError(
                f"shop folder {self.root} holds both old and new copies of: "
                + "; ".join(clashes)
                + " — keep one of each and run again"
            )
        moved = []
        for old, new in plan:
            new.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old, new)
            moved.append(f"{old.relative_to(self.root)} → {new.relative_to(self.root)}")
        return moved

    def _write_marker(self, marker: Path) -> None:
        if marker.exists():
            return
        tmp = marker.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"layout": LAYOUT_VERSION}) + "\n")
        tmp.replace(marker)


def workspace(data_dir: Path | str) -> Workspace:
    """The workspace at ``data_dir``, moved into the current layout if the folder exists
    (no error when it does not: writers make what they need).

    Packages call this for their paths; commands that must not start a new shop call
    :meth:`Workspace.open` instead.
    """
    found = Workspace(Path(data_dir))
    found.migrate()
    return found
