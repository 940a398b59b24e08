"""The shop's Feast online store as the service reads it: opening it, reading the
shopper and the candidates, and reopening it in the background when it fails."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from serving.config import ServingConfig

log = logging.getLogger(__name__)


class LockedOnline:
    """The service's handle on the online store: reads lock-free, writes serialised.

    Reads go through :class:`features.online.OnlineFeatures`, which gives every request
    thread its own online-store object (its own SQLite connection), so concurrent
    requests never queue on a Python lock; a shopper is one
    :meth:`~features.online.OnlineFeatures.fetch`. ``lock`` serialises only the calls
    that use the Feast store's own online-store object (pushes of recent activity and
    :meth:`get_online_features`), which holds one connection.
    """

    def __init__(self, online: Any) -> None:
        self.online, self.store, self.item_columns = online, online.store, online.item_columns
        self.lock = threading.Lock()
        """Serialises use of the Feast store's own online-store object (writes)."""
        self.path: Path | None = None
        """The SQLite file opened (``None``: another kind of store)."""
        self.identity: tuple[int, int] | None = None
        """``(device, inode)`` of that file when opened."""

    def read_user(self, user_id: str) -> tuple[dict[str, Any], bool]:
        """The shopper's features (defaults when unknown) and whether they are known."""
        return self.online.read_user(user_id)

    def read_user_interest(
        self, user_id: str, categories: list[str]
    ) -> tuple[dict[str, Any], bool, dict[str, float | None]]:
        """The shopper's features (as :meth:`features.online.OnlineFeatures.read_user`)
        and their interest in every category of ``categories``, in one store round trip.

        Returns:
            The features (defaults when unknown), whether the shopper is known, and the
            interest by category.
        """
        read = self.online.read_shopper(user_id, categories)
        return read.features, read.known, read.interest

    def read_candidates(
        self, item_ids: list[str], user_id: str | None = None, categories: list[str] | None = None
    ) -> tuple[dict[str, dict[str, float | None]], dict[str, float | None]]:
        """One store round trip for the candidates: their packed feature vectors (as
        :meth:`features.online.OnlineFeatures.read_items`, without building a data
        frame) and, given a shopper, their interest in the candidates' categories.

        Returns:
            Features of the known items by id, and the interest by category.
        """
        from features.online import ViewRead
        from features.tables import ITEM_SERVING, USER_CATEGORY

        reads = [ViewRead(ITEM_SERVING.name, [(i,) for i in item_ids], ["vector"])]
        with_user = user_id is not None and categories is not None
        if with_user:
            keys = [(user_id, c) for c in categories]
            reads.append(ViewRead(USER_CATEGORY.name, keys, ["interest"]))
        rows = self.online.fetch(reads)
        return self._items(item_ids, rows[0]), self._interest(categories, rows[1:])

    def _items(self, item_ids: list[str], rows: list[Any]) -> dict[str, dict[str, float | None]]:
        columns, width = self.item_columns, len(self.item_columns)
        items: dict[str, dict[str, float | None]] = {}
        for item, row in zip(item_ids, rows, strict=True):
            vector = row["vector"].double_list_val.val if row and "vector" in row else ()
            if len(vector) == width:
                items[item] = {
                    c: (None if v != v else v) for c, v in zip(columns, vector, strict=True)
                }
        return items

    @staticmethod
    def _interest(categories: list[str] | None, rows: list[Any]) -> dict[str, float | None]:
        from features.online import interest_value

        if not rows:
            return {}
        return {c: interest_value(r) for c, r in zip(categories or [], rows[0], strict=True)}

    def get_online_features(self, **kwargs: Any) -> Any:
        """``FeatureStore.get_online_features`` (serialised: the Feast store's own
        online-store object holds one connection)."""
        with self.lock:
            return self.store.get_online_features(**kwargs)


def online_store_file(data_dir: Path, cfg: ServingConfig) -> Path | None:
    """The SQLite file of the shop's online store (``None``: another kind of store)."""
    from features.config import FeatureConfig, store_dir
    from storefront.config import load_config

    features = load_config(FeatureConfig, cfg.features_config, name="features")
    if features.store.online_store != "sqlite":
        return None
    return store_dir(data_dir) / "online_store.db"


def _identity(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    info = path.stat()
    return info.st_dev, info.st_ino


def open_online(data_dir: Path, cfg: ServingConfig) -> LockedOnline | None:
    """The shop's online features, or ``None`` (logged) when the store cannot open.

    A missing SQLite online store counts as unavailable: opening it would create an
    empty one and answer every shopper as unknown, and the real file put back later
    would not be seen (see :class:`OnlineHealer`)."""
    from features.config import FeatureConfig
    from features.online import OnlineFeatures
    from features.store import open_store
    from storefront.config import load_config

    try:
        path = online_store_file(data_dir, cfg)
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"online store {path} is missing")
        identity = _identity(path)
        features = load_config(FeatureConfig, cfg.features_config, name="features")
        online = LockedOnline(OnlineFeatures(open_store(data_dir, features.store)))
        online.path, online.identity = path, identity
        return online
    except Exception as exc:
        log.warning("feature store unavailable (%s): answering without online features", exc)
        return None


class OnlineHealer:
    """Reopens a missing or broken online store in the background (a daemon thread).

    Every ``check_seconds`` it checks the store the service reads: open at all, its
    SQLite file still the one opened (a file put back or replaced is a new store), and
    no failed read lately (:class:`serving.reader.Features`' circuit breaker). A
    store found wanting is reopened, with a backoff from ``check_seconds`` doubling up
    to ``max_backoff_seconds`` while it keeps failing; once it opens, ``on_heal`` runs
    (the service rebuilds its state, so its degraded reasons are current).

    Args:
        open_store: Opens the store (``None`` when it cannot).
        features: The service's online feature reader (its ``online`` is swapped).
        on_heal: Called after a store was (re)opened.
        check_seconds: Interval of the checks while the store is healthy.
        max_backoff_seconds: Longest wait between failed attempts.
    """

    def __init__(
        self,
        open_store: Any,
        features: Any,
        on_heal: Any = None,
        check_seconds: float = 2.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.open_store, self.features, self.on_heal = open_store, features, on_heal
        self.check_seconds, self.max_backoff = check_seconds, max_backoff_seconds
        self.attempts = self.heals = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> OnlineHealer:
        self._thread = threading.Thread(target=self._loop, name="online-healer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def wanting(self) -> str | None:
        """Why the current store needs reopening (``None``: it is fine)."""
        online = self.features.online
        if online is None:
            return "not open"
        path = getattr(online, "path", None)
        if path is not None:
            try:
                if _identity(path) != online.identity:
                    return "its file was replaced"
            except OSError:
                return "its file is missing"
        if self.features.failing:
            return "a read failed"
        return None

    def check(self) -> bool:
        """One check (and reopening when needed); whether the store is fine after it."""
        why = self.wanting()
        if why is None:
            return True
        current = self.features.online
        if why == "a read failed" and current is not None:
            try:  # the store may have recovered by itself (a locked or busy file)
                current.read_user("__storefront_probe__")
                self.features.recovered()
                return True
            except Exception:
                pass
        self.attempts += 1
        online = self.open_store()
        if online is None:
            if why != "a read failed":
                self.features.online = None  # its file is gone: reads would mislead
            return False
        try:  # one read: a store that opens but cannot answer is not healed
            online.read_user("__storefront_probe__")
        except Exception as exc:
            log.warning("online store reopened but unreadable (%s); retrying later", exc)
            return False
        self.features.online = online
        self.features.recovered()
        self.heals += 1
        log.info("online store reopened (%s)", why)
        if self.on_heal is not None:
            try:
                self.on_heal()
            except Exception:
                log.warning("rebuilding the state after the online store healed failed",
                            exc_info=True)  # fmt: skip
        return True

    def _loop(self) -> None:
        wait = self.check_seconds
        while not self._stop.wait(wait):
            try:
                fine = self.check()
            except Exception:
                log.warning("online store check failed", exc_info=True)
                fine = False
            wait = self.check_seconds if fine else min(wait * 2, self.max_backoff)
