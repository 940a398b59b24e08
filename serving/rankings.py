"""Shoppers' ranked feeds kept for reuse: ranking (retrieval, features, the re-ranker)
is most of a request's work and gives the same list until the shopper acts, the
features are re-materialized or the model changes, while the business rules (stock,
bought recently, exclude, diversity) still run on every request.

An entry is used while it is younger than ``ttl_seconds``, made by the engine that
serves now, and the shopper's activity stamp (:meth:`serving.activity.RecentActivity.stamp`)
is the one it was ranked with. After a model load the most recent shoppers are ranked
in the background (:meth:`RankingCache.warm`), so their first request is a hit too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
WARM_DUTY = 0.25
"""Share of the time a warm-up may spend ranking (the rest it sleeps)."""


@dataclass(frozen=True)
class _Entry:
    ranked: Any
    engine: Any
    stamp: int
    at: float


class RankingCache:
    """Ranked feeds by shopper (a bounded, least-recently-used map).

    Args:
        ttl_seconds: Age at which an entry is ranked again (0: the cache is off).
        size: Shoppers kept.
    """

    def __init__(self, ttl_seconds: float = 60.0, size: int = 50_000) -> None:
        self.ttl, self.size = ttl_seconds, size
        self.hits = self.misses = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, engine: Any, stamp: int) -> Any:
        """The ranking kept for ``key`` if still current, else ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            fresh = (
                entry is not None
                and entry.engine is engine
                and entry.stamp == stamp
                and time.monotonic() - entry.at < self.ttl
            )
            if fresh:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.ranked  # type: ignore[union-attr]
            self.misses += 1
            return None

    def put(self, key: str, engine: Any, stamp: int, ranked: Any) -> None:
        """Keep ``ranked`` for ``key`` (ranked by ``engine`` at activity ``stamp``)."""
        now = time.monotonic()
        with self._lock:
            self._entries[key] = _Entry(ranked, engine, stamp, now)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            # the least recently used first: expired ones there are dropped, so the cache
            # holds about ttl × distinct shoppers per second, not ``size`` stale feeds
            while self._entries:
                oldest = next(iter(self._entries.values()))
                if now - oldest.at < self.ttl:
                    break
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def warm(
        self,
        rank: Any,
        users: list[str],
        stop: threading.Event | None = None,
        duty: float = WARM_DUTY,
    ) -> int:
        """Rank ``users`` (``rank(user_id)`` puts each in the cache); how many were.
        Stops early when ``stop`` is set (a newer state is warming).

        Args:
            rank: Ranks one shopper into the cache.
            users: The shoppers, most likely visitors first.
            stop: Set to stop early.
            duty: Largest share of the time spent ranking: after each shopper the
                warm-up sleeps ``(1 - duty) / duty`` times as long as it ranked, so a
                warm-up never takes the interpreter from the requests it is for.
        """
        done = 0
        started = time.monotonic()
        pause = (1.0 - duty) / duty
        for user in users:
            if stop is not None and stop.is_set():
                break
            began = time.perf_counter()
            try:
                rank(user)
                done += 1
            except Exception as exc:  # its type only: a message may quote user ids
                log.warning("warming the ranking cache failed: %s", type(exc).__name__)
                break
            time.sleep(max(0.001, pause * (time.perf_counter() - began)))
        log.info("ranked %d shoppers ahead in %.1f s", done, time.monotonic() - started)
        return done
