"""One run at a time per shop: a file lock held while a retrain or scheduled build runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class RunInProgressError(RuntimeError):
    """Another retrain or build holds the shop's lock."""


@contextmanager
def exclusive(path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the shop's run lock (released on exit, and by the OS if the process dies).

    Args:
        path: The lock file (``Workspace.retrain_lock``).
        wait_seconds: How long to wait for a run in progress (0: not at all).

    Raises:
        RunInProgressError: Another run holds it past ``wait_seconds``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, timeout=wait_seconds)
    try:
        lock.acquire()
    except Timeout as exc:
        raise RunInProgressError(
            f"another retrain or feature build of this shop is running (lock {path})"
        ) from exc
    try:
        yield
    finally:
        lock.release()
