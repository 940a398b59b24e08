"""Date ranges of the KPIs: a period of whole UTC days, the period before it, and its
day or week buckets.

A period runs from ``since`` to ``until``, both days included (UTC). The previous period
has the same number of days and ends the day before ``since``, so the two compare like
for like. Weeks are counted from the period's first day (days 1-7, 8-14, …; the last
one may be shorter), so the current and the previous period have the same buckets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import polars as pl

By = Literal["day", "week"]
BY_VALUES: tuple[str, ...] = ("day", "week")
DEFAULT_DAYS = 28
"""Default range: the last 28 days of data (four whole weeks)."""
MAX_DAYS = 3660
"""Longest range asked for (ten years)."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``since`` to ``until``, both included.

    Raises:
        ValueError: ``until`` is before ``since``, or the range is longer than
            :data:`MAX_DAYS`.
    """

    since: dt.date
    until: dt.date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError(f"until ({self.until}) is before since ({self.since})")
        if self.days > MAX_DAYS:
            raise ValueError(f"the range is {self.days:,} days; at most {MAX_DAYS:,}")

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.until - self.since).days + 1

    @property
    def start(self) -> dt.datetime:
        """The period's first moment (``since`` at 00:00 UTC)."""
        return dt.datetime.combine(self.since, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The moment after the period (the day after ``until`` at 00:00 UTC)."""
        return self.start + dt.timedelta(days=self.days)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.since - dt.timedelta(days=self.days), self.since - dt.timedelta(days=1))

    def contains(self, timestamp: pl.Expr) -> pl.Expr:
        """Whether a UTC timestamp column falls in the period."""
        return (timestamp >= self.start) & (timestamp < self.end)

    def label(self) -> str:
        """``2025-06-01 – 2025-06-28``."""
        return f"{self.since.isoformat()} – {self.until.isoformat()}"

    def as_dict(self) -> dict[str, object]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "days": self.days}


def default_period(last_day: dt.date, days: int = DEFAULT_DAYS) -> Period:
    """The ``days`` days ending on ``last_day`` (the last day with data)."""
    return Period(last_day - dt.timedelta(days=days - 1), last_day)


def resolve(
    since: dt.date | None, until: dt.date | None, last_day: dt.date, days: int = DEFAULT_DAYS
) -> Period:
    """The period asked for: both ends given, or the missing ones filled in.

    Args:
        since: First day, if given.
        until: Last day, if given.
        last_day: The last day with data (the default ``until``).
        days: Length when only one end (or none) is given.
    """
    if since is not None and until is not None:
        return Period(since, until)
    if since is not None:
        return Period(since, max(since, min(last_day, since + dt.timedelta(days=days - 1))))
    end = until or last_day
    return default_period(end, days)


def parse_day(text: str | None, what: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` day (``None`` for an empty value).

    Raises:
        ValueError: Not such a day; the message names ``what``.
    """
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{what}: {text!r} is not a day as YYYY-MM-DD") from exc


def check_by(by: str) -> By:
    """``by`` if it is ``day`` or ``week``.

    Raises:
        ValueError: Anything else.
    """
    if by not in BY_VALUES:
        raise ValueError(f"by: {by!r} is not one of {', '.join(BY_VALUES)}")
    return by  # type: ignore[return-value]


def step_days(by: By) -> int:
    """Days per bucket."""
    return 1 if by == "day" else 7


def bucket(period: Period, by: By, timestamp: pl.Expr) -> pl.Expr:
    """The bucket number (0 for the first day or week of ``period``) of a timestamp."""
    days = (timestamp.dt.convert_time_zone("UTC").dt.date() - pl.lit(period.since)).dt.total_days()
    return (days // step_days(by)).cast(pl.Int64)


def buckets(period: Period, by: By) -> pl.DataFrame:
    """Every bucket of the period: ``bucket``, its first and last day."""
    step = step_days(by)
    count = -(-period.days // step)
    starts = [period.since + dt.timedelta(days=step * n) for n in range(count)]
    return pl.DataFrame(
        {
            "bucket": list(range(count)),
            "start": starts,
            "end": [min(s + dt.timedelta(days=step - 1), period.until) for s in starts],
        },
        schema={"bucket": pl.Int64, "start": pl.Date, "end": pl.Date},
    )
