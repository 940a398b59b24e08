"""Periods, the previous period and day / week buckets."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kpi.figures import prepare
from kpi.periods import Period, bucket, buckets, check_by, default_period, parse_day, resolve
from kpi.series import series
from tests.kpi.frames import DAY, at, catalog, events

D = dt.date


def test_a_period_its_previous_and_its_moments() -> None:
    period = Period(D(2026, 3, 10), D(2026, 3, 16))
    assert period.days == 7
    assert period.previous() == Period(D(2026, 3, 3), D(2026, 3, 9))
    assert period.start == dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 3, 17, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "t": [
                period.start - dt.timedelta(microseconds=1),
                period.start,
                period.end - dt.timedelta(microseconds=1),
                period.end,
            ]
        }
    )
    assert frame.select(period.contains(pl.col("t")))["t"].to_list() == [False, True, True, False]


def test_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="before since"):
        Period(D(2026, 3, 10), D(2026, 3, 9))
    with pytest.raises(ValueError, match="at most"):
        Period(D(2000, 1, 1), D(2026, 1, 1))
    with pytest.raises(ValueError, match="since: '2026-13-01' is not a day"):
        parse_day("2026-13-01", "since")
    assert parse_day("", "since") is None and parse_day(" 2026-03-01 ", "x") == D(2026, 3, 1)
    with pytest.raises(ValueError, match="by: 'month'"):
        check_by("month")


def test_the_default_is_the_last_28_days_of_data() -> None:
    last = D(2026, 3, 28)
    assert default_period(last) == Period(D(2026, 3, 1), last)
    assert resolve(None, None, last) == Period(D(2026, 3, 1), last)
    assert resolve(None, D(2026, 2, 28), last) == Period(D(2026, 2, 1), D(2026, 2, 28))
    assert resolve(D(2026, 3, 20), None, last) == Period(D(2026, 3, 20), last)
    assert resolve(D(2026, 1, 1), None, last) == Period(D(2026, 1, 1), D(2026, 1, 28))
    assert resolve(D(2026, 3, 5), D(2026, 3, 6), last) == Period(D(2026, 3, 5), D(2026, 3, 6))


def test_weeks_count_from_the_first_day_and_the_last_may_be_short() -> None:
    period = Period(D(2026, 3, 4), D(2026, 3, 19))  # 16 days: 7 + 7 + 2
    weeks = buckets(period, "week")
    assert weeks["start"].to_list() == [D(2026, 3, 4), D(2026, 3, 11), D(2026, 3, 18)]
    assert weeks["end"].to_list() == [D(2026, 3, 10), D(2026, 3, 17), D(2026, 3, 19)]
    frame = pl.DataFrame({"t": [at(3), at(9, 23), at(10, 0), at(18)]})  # Mar 4, 10, 11, 19
    assert frame.select(bucket(period, "week", pl.col("t")))["t"].to_list() == [0, 0, 1, 2]
    assert buckets(period, "day").height == 16


def test_the_series_has_every_bucket_and_the_previous_period_beside_it() -> None:
    rows = [
        ("u1", "s1", "a", "purchase", 0, 1, 10.0),  # previous period, its 1st day
        ("u2", "s2", "a", "purchase", 3, 2, 10.0),  # this period, its 1st day
        ("u3", "s3", "a", "purchase", 5, 1, 4.0),
    ]  # this period, its 3rd day
    prepared = prepare(events(rows), catalog())
    period = Period(DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=5))
    got = series(prepared, period, "day")
    assert got["start"].to_list() == [DAY + dt.timedelta(days=d) for d in (3, 4, 5)]
    assert got["previous_start"].to_list() == [DAY + dt.timedelta(days=d) for d in (0, 1, 2)]
    assert got["gmv"].to_list() == [20.0, 0.0, 4.0]
    assert got["gmv_previous"].to_list() == [10.0, 0.0, 0.0]
    assert got["orders"].to_list() == [1, 0, 1] and got["aov"].to_list() == [20.0, None, 4.0]
    weekly = series(prepared, period, "week")
    assert weekly.height == 1 and weekly["gmv"][0] == 24.0 and weekly["gmv_previous"][0] == 10.0
