"""What shoppers did through the service lately, in memory, for every request to read
without a query: each shopper's and each anonymous session's latest items (their
recent activity personalises the answer) and each shopper's purchases (the
"bought recently" rule).

Events a worker takes through ``/events`` are recorded at once (:meth:`record`); those
other workers took are picked up by tailing the event store every ``poll_seconds``
(:meth:`start`), so every worker sees every event within about that long.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)
TOUCHES = ("view", "add_to_cart", "purchase")
"""Event types that count as a shopper's recent activity with an item."""


class _Bounded(OrderedDict[str, deque]):
    """Key -> the latest entries (newest last), least recently touched keys dropped."""

    def __init__(self, max_keys: int, per_key: int) -> None:
        super().__init__()
        self.max_keys, self.per_key = max_keys, per_key

    def add(self, key: str, entry: Any) -> None:
        entries = self.get(key)
        if entries is None:
            entries = self[key] = deque(maxlen=self.per_key)
        self.move_to_end(key)
        entries.append(entry)
        if len(self) > self.max_keys:
            self.popitem(last=False)


class RecentActivity:
    """Recent items by shopper and by session, and purchases by shopper, in memory.

    Args:
        store: The event store to tail (:class:`serving.events.EventStore`), or ``None``.
        window_days: How far back the store is read at start.
        max_keys: Shoppers and sessions remembered (least recently active forgotten).
        per_key: Latest items remembered per shopper or session.
        poll_seconds: Interval of the store's tail.
        now: Business time (``() -> datetime``), for the start's window.
    """

    def __init__(
        self,
        store: Any = None,
        window_days: float = 30.0,
        max_keys: int = 200_000,
        per_key: int = 50,
        poll_seconds: float = 1.0,
        now: Any = None,
    ) -> None:
        self.store, self.poll_seconds = store, poll_seconds
        self.touched = _Bounded(max_keys, per_key)
        self.bought = _Bounded(max_keys, per_key)
        self.stamps = _Bounded(max_keys, 1)
        self._sequence = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._max_seen = max_keys
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._cursor = self._now() - dt.timedelta(days=window_days)

    def record(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Remember events given as ``(event_id, user_id, session_id, item_id,
        event_type, timestamp)`` (more fields are ignored); ids seen before skipped."""
        with self._lock:
            for event_id, user, session, item, kind, at, *_ in rows:
                if event_id in self._seen or kind not in TOUCHES:
                    continue
                self._seen[event_id] = None
                if len(self._seen) > self._max_seen:
                    self._seen.popitem(last=False)
                self._sequence += 1
                for key in (f"u:{user}" if user else None, f"s:{session}" if session else None):
                    if key is not None:
                        self.touched.add(key, item)
                        self.stamps.add(key, self._sequence)
                if kind == "purchase" and user:
                    self.bought.add(user, (item, _epoch(at)))

    def record_frame(self, frame: Any) -> None:
        """Remember the events of a validated events frame (the ``/events`` batch)."""
        columns = ["event_id", "user_id", "session_id", "item_id", "event_type", "timestamp"]
        self.record(frame.select(columns).iter_rows())

    def recent(self, user_id: str | None, session_id: str | None = None) -> list[str]:
        """The shopper's (else the session's) latest items through the service, newest
        first, each once."""
        with self._lock:
            entries = self.touched.get(f"u:{user_id}") if user_id else None
            if entries is None and session_id:
                entries = self.touched.get(f"s:{session_id}")
            items = list(entries or ())
        return list(dict.fromkeys(reversed(items)))

    def stamp(self, user_id: str | None, session_id: str | None = None) -> int:
        """A number that changes whenever the shopper (else the session) does something
        through the service (0: nothing remembered); what a cached ranking checks."""
        with self._lock:
            entries = self.stamps.get(f"u:{user_id}") if user_id else None
            if entries is None and session_id:
                entries = self.stamps.get(f"s:{session_id}")
            return entries[-1] if entries else 0

    def purchases(self, user_id: str, since: float) -> list[str]:
        """Items the shopper bought through the service at or after ``since`` (epoch s)."""
        with self._lock:
            entries = list(self.bought.get(user_id) or ())
        return [item for item, at in entries if at >= since]

    def poll(self) -> int:
        """Read the events the store received since the last poll; how many were new."""
        if self.store is None:
            return 0
        rows = self.store.received_since(self._cursor)
        if rows:
            self._cursor = max(_aware(r[6]) for r in rows)  # ``>=``: ties are re-read, skipped
        before = len(self._seen)
        self.record(rows)
        return len(self._seen) - before

    def start(self) -> RecentActivity:
        """Read the store's recent window now, then tail it in a daemon thread."""
        try:
            self.poll()
        except Exception as exc:  # its type only: a message may quote user ids
            log.warning("recent activity not read from the event store: %s", type(exc).__name__)
        threading.Thread(target=self._loop, name="recent-activity", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception as exc:
                log.warning("tailing the event store failed: %s", type(exc).__name__)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _epoch(at: Any) -> float:
    if isinstance(at, dt.datetime):
        return _aware(at).timestamp()
    return float(at)
