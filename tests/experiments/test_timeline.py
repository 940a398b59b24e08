"""The report's timeline: looks by the minute, hour or day as the test's span asks, and a
cumulative-lift chart with data on an axis covering only the test."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
from matplotlib import dates as mdates

from experiments.config import ExperimentsSettings
from experiments.records import Exposure, Outcome
from experiments.report import build_report, look_width
from experiments.report_html import cohort_axes, lift_axes, lift_chart, render
from storefront.plots import plt

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture()
def report_of(store, experiment, logs):
    def make(**kwargs: Any) -> dict[str, Any]:
        store.create(experiment)
        served, events = logs(experiment, **kwargs)
        store.log_exposures(served)
        store.log_outcomes(events)
        return build_report(store, experiment.name, ExperimentsSettings())

    return make


def _xlim(ax) -> tuple[dt.datetime, dt.datetime]:
    low, high = ax.get_xlim()
    return mdates.num2date(low, tz=dt.UTC), mdates.num2date(high, tz=dt.UTC)


def test_the_look_period_follows_the_span() -> None:
    assert look_width(START, START + dt.timedelta(seconds=30))[0] == "1s"
    assert look_width(START, START + dt.timedelta(minutes=5))[0] == "10s"
    assert look_width(START, START + dt.timedelta(minutes=12))[0] == "1m"
    assert look_width(START, START + dt.timedelta(hours=3))[0] == "5m"
    assert look_width(START, START + dt.timedelta(hours=25))[0] == "1h"
    assert look_width(START, START + dt.timedelta(days=7))[0] == "1d"


def test_a_one_day_test_has_hourly_looks_and_a_drawn_lift(report_of) -> None:
    report = report_of(n_units=4000, days=1, lift=0.3, seed=7)
    timeline = report["timeline"]
    assert timeline["period_seconds"] == 3600
    # exposures over one day, purchases up to an hour after: 25 hourly looks
    assert len(timeline["looks"]) == 25
    span = [dt.datetime.fromisoformat(t) for t in timeline["span"]]
    assert span == [START, START + dt.timedelta(hours=25)]

    chart = lift_chart(timeline)
    series = chart["series"]["treatment"]
    assert len(chart["x"]) == 25 and chart["x"][-1] == span[1]
    for key in ("relative", "relative_low", "relative_high", "always_valid_low"):
        assert all(math.isfinite(v) for v in series[key][2:]), key  # early looks may be thin
    assert all(lo < mid < hi for lo, mid, hi in zip(*(series[k][2:] for k in (
        "relative_low", "relative", "relative_high")), strict=True))  # fmt: skip

    last = timeline["looks"][-1]["cumulative"]["treatment"]
    assert last["always_valid_low"] < last["relative"] < last["always_valid_high"]

    fig, ax = lift_axes(chart)
    assert _xlim(ax) == (span[0], span[1])  # not years either side of one day
    band = ax.collections[0].get_paths()[0].vertices  # the interval band is drawn
    assert len(band) > 2 * 20 and np.isfinite(band).all()
    plt.close(fig)
    fig, ax = cohort_axes(timeline)
    assert _xlim(ax) == (span[0], span[1]) and len(ax.get_lines()[0].get_xdata()) == 25
    plt.close(fig)


def test_a_test_of_minutes_is_looked_at_by_the_minute(store, experiment) -> None:
    """As `storefront quickstart`'s A/B test: a few minutes of traffic."""
    store.create(experiment)
    rng = np.random.default_rng(3)
    served, events = [], []
    for i in range(600):
        at = START + dt.timedelta(seconds=int(rng.integers(12 * 60)))
        variant = "treatment" if i % 2 else "control"
        served.append(Exposure(f"r{i}", experiment.name, variant, f"u{i}", "home_feed", at))
        if rng.random() < (0.3 if i % 2 else 0.2):
            events.append(Outcome(f"p{i}", f"u{i}", "purchase", "i1", at, request_id=f"r{i}"))
    store.log_exposures(served)
    store.log_outcomes(events)
    timeline = build_report(store, experiment.name)["timeline"]
    assert timeline["period_seconds"] == 60 and len(timeline["looks"]) == 12
    fig, ax = lift_axes(lift_chart(timeline))
    low, high = _xlim(ax)
    assert (low, high) == (START, START + dt.timedelta(minutes=12))
    assert len(ax.collections) == 1 and len(ax.get_lines()[0].get_xdata()) == 12
    plt.close(fig)


def test_a_single_look_is_drawn_with_its_interval(store, experiment) -> None:
    store.create(experiment)
    served = [
        Exposure(f"r{i}", experiment.name, v, f"u{i}", "home_feed", START)
        for i, v in enumerate(["control", "treatment"] * 100)
    ]
    events = [
        Outcome(f"p{i}", f"u{i}", "purchase", "i1", START, request_id=f"r{i}")
        for i in range(0, 200, 3)
    ]
    store.log_exposures(served)
    store.log_outcomes(events)
    report = build_report(store, experiment.name)
    assert len(report["timeline"]["looks"]) == 1
    fig, ax = lift_axes(lift_chart(report["timeline"]))
    assert _xlim(ax) == (START, START + dt.timedelta(seconds=1))
    (bar,) = ax.containers  # the error bar: the point and its interval's whisker
    (whisker,) = bar.lines[2][0].get_segments()
    (_, low), (_, high) = whisker
    assert np.isfinite([low, high]).all() and low < high
    plt.close(fig)
    assert render(report).count("data:image/png;base64,") == 2


def test_the_always_valid_interval_follows_outcomes_that_arrive_late(store, experiment) -> None:
    """Every shopper is served in the first half hour and buys up to ten hours later: the
    conversion so far grows look by look, and the last look's interval still holds the
    lift measured then."""
    store.create(experiment)
    rng = np.random.default_rng(5)
    served, events = [], []
    for i in range(8000):
        at = START + dt.timedelta(seconds=int(rng.integers(1800)))
        variant = "treatment" if i % 2 else "control"
        served.append(Exposure(f"r{i}", experiment.name, variant, f"u{i}", "home_feed", at))
        if rng.random() < (0.15 if i % 2 else 0.10):
            later = at + dt.timedelta(minutes=int(rng.integers(30, 600)))
            events.append(Outcome(f"p{i}", f"u{i}", "purchase", "i1", later, request_id=f"r{i}"))
    store.log_exposures(served)
    store.log_outcomes(events)
    timeline = build_report(store, experiment.name)["timeline"]
    assert timeline["period_seconds"] == 900  # ten and a half hours: by the quarter hour
    last = timeline["looks"][-1]["cumulative"]["treatment"]
    assert last["always_valid_low"] < last["relative"] < last["always_valid_high"]
