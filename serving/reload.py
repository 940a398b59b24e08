"""Reloads reach every worker: ``/admin/reload`` reloads the process it hits and
touches a generation file; the other processes notice (checked at most once a
second, on their next request) and rebuild their state in the background, so none
stops answering."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
CHECK_SECONDS = 1.0


class ReloadSignal:
    """A generation file shared by the workers of one service.

    Args:
        path: The file (``<data_dir>/serving/reload.generation``).
        reload: What a worker does when another announced a reload.
    """

    def __init__(self, path: Path, reload: Callable[[], None]) -> None:
        self.path, self.reload = Path(path), reload
        self.seen = self._stamp()
        self._checked = time.monotonic()
        self._running = threading.Lock()

    def _stamp(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0

    def announce(self) -> None:
        """Tell the other workers (after this one has reloaded)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(str(time.time_ns()))
        self.seen = self._stamp()

    def follow(self) -> None:
        """Start a background reload if another worker announced one (cheap to call on
        every request)."""
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS:
            return
        self._checked = now
        stamp = self._stamp()
        if stamp == self.seen or not self._running.acquire(blocking=False):
            return
        self.seen = stamp

        def run() -> None:
            try:
                self.reload()
            except Exception:
                log.exception("reload announced by another worker failed; old state kept")
            finally:
                self._running.release()

        threading.Thread(target=run, daemon=True).start()
