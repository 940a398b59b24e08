"""The shop's clock: where business time ("now") comes from.

Rules such as "nothing bought in the last 30 days" and checks such as "no event from
the future" ask a :class:`Clock` rather than the wall clock directly, so production
runs on :class:`SystemClock` while tests (and replays) run on a :class:`FrozenClock`
they set and advance. Latency timers (``time.perf_counter``) are not business time and
stay out of it.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FrozenClock", "SystemClock", "start_of_day", "utc"]


def utc(at: dt.datetime) -> dt.datetime:
    """``at`` as a UTC-aware datetime.

    Args:
        at: A timezone-aware datetime.

    Returns:
        The same instant in UTC.

    Raises:
        ValueError: ``at`` is naive (its instant would be a guess).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock needs a timezone-aware datetime, got naive {at.isoformat()}")
    return at.astimezone(dt.UTC)


def start_of_day(at: dt.datetime) -> dt.datetime:
    """Midnight (UTC) of the UTC day of ``at``.

    Args:
        at: A timezone-aware datetime.

    Returns:
        ``at``'s UTC day at 00:00, UTC-aware.
    """
    day = utc(at).date()
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@runtime_checkable
class Clock(Protocol):
    """A source of business time."""

    def now(self) -> dt.datetime:
        """The current instant, UTC-aware."""
        ...


class SystemClock:
    """The wall clock (the production default)."""

    def now(self) -> dt.datetime:
        """The current wall-clock instant, UTC-aware."""
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """A clock that stands still until it is set or advanced (for tests and replays).

    Thread-safe: a server's request threads may read it while a test moves it.

    Args:
        at: The instant it shows (timezone-aware; kept in UTC).
    """

    def __init__(self, at: dt.datetime) -> None:
        self._at = utc(at)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The instant it was set to, UTC-aware."""
        with self._lock:
            return self._at

    def set(self, at: dt.datetime) -> None:
        """Show ``at`` from now on.

        Args:
            at: A timezone-aware datetime.
        """
        moved = utc(at)
        with self._lock:
            self._at = moved

    def advance(self, by: dt.timedelta | None = None, **units: float) -> dt.datetime:
        """Move forward by ``by`` and/or ``timedelta`` units (``days=1, hours=2``).

        Args:
            by: How far to move.
            **units: Keyword arguments of :class:`datetime.timedelta`, added to ``by``.

        Returns:
            The new instant.
        """
        step = (by or dt.timedelta()) + dt.timedelta(**units)
        with self._lock:
            self._at = self._at + step
            return self._at

    def __repr__(self) -> str:
        return f"FrozenClock({self._at.isoformat()})"
