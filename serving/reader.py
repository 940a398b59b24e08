"""The online side of a request: the shopper's and the candidates' features, with
last-good copies and a circuit breaker, so a failing feature store costs one slow
request, not every request (see :class:`Features`)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)
CACHE_SIZE = 50_000


class LastGood:
    """A bounded map of the last good value per key (users' or items' features).

    Shared by the request threads without a lock: each step is one atomic dict
    operation, and one thread's eviction racing another's update only drops an entry.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size, self.data = size, OrderedDict[str, Any]()

    def put(self, key: str, value: Any) -> None:
        data = self.data
        data[key] = value
        with contextlib.suppress(KeyError):  # evicted by another thread meanwhile
            data.move_to_end(key)
        while len(data) > self.size:
            try:
                data.popitem(last=False)
            except KeyError:  # emptied by another thread
                break

    def get(self, key: str) -> Any:
        return self.data.get(key)


class Features:
    """The online side of a request, with last-good copies and a circuit breaker.

    After a failed read the store is left alone for ``retry_seconds`` (answers come
    from the last good copies meanwhile), so an outage costs one slow request, not
    every request.

    With ``item_cache_seconds`` > 0 the items' features (which change only when the
    feature store materializes) are read for the whole catalogue in the background at
    most that often, and a request makes one read only: the shopper with their interest
    in every category. With 0, each request also reads its candidates (one batch).

    Args:
        online: :class:`serving.online.LockedOnline` (lock-free reads, safe to share
            between request threads), or ``None`` when the store is down.
        retry_seconds: How long to skip the store after a failure.
        item_cache_seconds: Age at which the catalogue's item features are re-read.
        categories: Every category of the catalogue (read with the shopper).
        catalogue: Every item id (for the cached item features).
    """

    def __init__(
        self,
        online: Any,
        retry_seconds: float = 5.0,
        item_cache_seconds: float = 0.0,
    ) -> None:
        self.online, self.retry_seconds = online, retry_seconds
        self.item_cache_seconds = item_cache_seconds
        self.users, self.items, self.interest = LastGood(), LastGood(), LastGood()
        self.categories: list[str] = []
        self.catalogue: list[str] = []
        self._down_until = 0.0
        self._table: dict[str, dict[str, Any]] = {}
        self._table_at = -float("inf")
        self._refreshing = threading.Lock()

    @property
    def cached(self) -> bool:
        """Whether item features come from the periodically refreshed table."""
        return self.item_cache_seconds > 0 and bool(self.catalogue)

    def refresh_items(self, chunk: int = 500) -> None:
        """Re-read every catalogue item's features (in chunks, so requests interleave)."""
        if not self._refreshing.acquire(blocking=False):
            return
        try:
            table: dict[str, dict[str, Any]] = {}
            for start in range(0, len(self.catalogue), chunk):
                rows, _ = self.online.read_candidates(self.catalogue[start : start + chunk])
                table.update(rows)
            self._table, self._table_at = table, time.monotonic()
        except Exception as exc:
            self._failed("item table", exc)
        finally:
            self._refreshing.release()

    def _item_table(self) -> dict[str, dict[str, Any]]:
        age = time.monotonic() - self._table_at
        if not self._table and self._usable():
            self.refresh_items()
        elif age > self.item_cache_seconds and self._usable() and not self._refreshing.locked():
            threading.Thread(target=self.refresh_items, daemon=True).start()
        return self._table

    @property
    def failing(self) -> bool:
        """A read failed less than ``retry_seconds`` ago (reads are held off meanwhile)."""
        return time.monotonic() < self._down_until

    def recovered(self) -> None:
        """The store answers again: reads resume at once."""
        self._down_until = 0.0

    def _usable(self) -> bool:
        return self.online is not None and time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: Exception) -> None:
        log.warning("online %s read failed (retry in %.0f s): %s", what, self.retry_seconds, exc)
        self._down_until = time.monotonic() + self.retry_seconds

    def user(self, user_id: str | None, degraded: list[str]) -> tuple[dict[str, Any], bool]:
        """The shopper's features (last good copy, or none, when the store fails)."""
        if not user_id:
            return {}, False
        if self._usable():
            try:
                if self.cached and self.categories:
                    values, known, interest = self.online.read_user_interest(
                        user_id, self.categories
                    )
                    for category, value in interest.items():
                        self.interest.put(f"{user_id}\x1f{category}", value)
                else:
                    values, known = self.online.read_user(user_id)
                self.users.put(user_id, (values, known))
                return values, known
            except Exception as exc:  # the online store is unreachable or broken
                self._failed("user", exc)
        degraded.append("feature_store_unavailable")
        cached = self.users.get(user_id)
        return cached if cached is not None else ({}, False)

    def candidates(
        self,
        item_ids: list[str],
        degraded: list[str],
        user_id: str | None = None,
        categories: list[str] | None = None,
    ) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
        """Item features by id (known items only) and, given a shopper and the items'
        categories, their interest in those categories; one read, last good copies
        when the store fails."""
        if not item_ids:
            return {}, {}
        if self.cached:
            table = self._item_table()
            if table:
                cached = {c: self.interest.get(f"{user_id}\x1f{c}") for c in set(categories or [])}
                found = {i: r for i in item_ids if (r := table.get(i)) is not None}
                return found, {c: v for c, v in cached.items() if v is not None}
        if self._usable():
            try:
                rows, interest = self.online.read_candidates(item_ids, user_id, categories)
                for item, row in rows.items():
                    self.items.put(item, row)
                for category, value in interest.items():
                    self.interest.put(f"{user_id}\x1f{category}", value)
                return rows, {c: v for c, v in interest.items() if v is not None}
            except Exception as exc:
                self._failed("candidates", exc)
        degraded.append("feature_store_unavailable")
        rows = {i: r for i in item_ids if (r := self.items.get(i)) is not None}
        cached = {c: self.interest.get(f"{user_id}\x1f{c}") for c in set(categories or [])}
        return rows, {c: v for c, v in cached.items() if v is not None}
