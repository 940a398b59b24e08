"""Assignment: deterministic, sticky, split by weight, exclusive within a layer, fast."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import numpy as np
import pytest

from experiments.assignment import Assigner, assign, bucket, slice_index
from experiments.config import Experiment
from storefront.config import PROJECT_ROOT

AT = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def _exp(make_definition, **overrides) -> Experiment:
    return Experiment.model_validate(make_definition(**overrides))


def test_bucket_is_pinned_and_the_same_in_another_process() -> None:
    # Live experiments depend on this value: a different hash reshuffles every shopper.
    assert bucket("home_feed_ranker", "u000042") == pytest.approx(0.5790673281291028, abs=0)
    code = (
        "from experiments.assignment import bucket; "
        "print(repr(bucket('home_feed_ranker', 'u000042')))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )
    assert float(other.stdout) == bucket("home_feed_ranker", "u000042")


def test_buckets_are_uniform() -> None:
    points = np.array([bucket("s", f"u{i}") for i in range(20_000)])
    assert points.min() >= 0 and points.max() < 1
    counts, _ = np.histogram(points, bins=10, range=(0, 1))
    assert counts.min() > 1800 and counts.max() < 2200


def test_split_follows_weights_and_is_sticky(make_definition) -> None:
    exp = _exp(
        make_definition,
        variants=[{"name": "control", "weight": 0.2}, {"name": "treatment", "weight": 0.8}],
    )
    first = [assign(exp, f"u{i}").variant for i in range(20_000)]
    again = [assign(exp, f"u{i}").variant for i in range(20_000)]
    assert first == again
    assert first.count("control") / len(first) == pytest.approx(0.2, abs=0.01)


def test_salts_are_independent(make_definition) -> None:
    a = _exp(make_definition, name="a")
    b = _exp(make_definition, name="b")
    both = [(assign(a, f"u{i}").variant, assign(b, f"u{i}").variant) for i in range(20_000)]
    together = sum(x == y for x, y in both) / len(both)
    assert together == pytest.approx(0.5, abs=0.02)


def test_experiments_in_one_layer_never_share_a_unit(make_definition) -> None:
    left = _exp(make_definition, name="left", layer="feed", layer_range=[0.0, 0.5])
    right = _exp(make_definition, name="right", layer="feed", layer_range=[0.5, 1.0])
    assigner = Assigner([left, right])
    seen = [assigner.assign("home_feed", AT, shopper_id=f"u{i}") for i in range(10_000)]
    assert all(len(s) == 1 for s in seen)
    share_left = sum(s[0].experiment == "left" for s in seen) / len(seen)
    assert share_left == pytest.approx(0.5, abs=0.02)


def test_overlapping_layer_ranges_are_refused(make_definition) -> None:
    left = _exp(make_definition, name="left", layer="feed", layer_range=[0.0, 0.6])
    right = _exp(make_definition, name="right", layer="feed", layer_range=[0.5, 1.0])
    with pytest.raises(ValueError, match="overlap in layer feed"):
        Assigner([left, right])


def test_a_partial_range_takes_only_that_share_of_traffic(make_definition) -> None:
    exp = _exp(make_definition, layer_range=[0.0, 0.1])
    assigner = Assigner([exp])
    hits = sum(bool(assigner.assign("home_feed", AT, shopper_id=f"u{i}")) for i in range(20_000))
    assert hits / 20_000 == pytest.approx(0.1, abs=0.01)


def test_only_running_experiments_of_the_surface_assign(make_definition) -> None:
    exp = _exp(make_definition, stop="2026-12-10T00:00:00Z")
    assigner = Assigner([exp])
    assert assigner.assign("home_feed", AT, shopper_id="u1")
    assert not assigner.assign("similar_items", AT, shopper_id="u1")
    assert not assigner.assign(
        "home_feed", dt.datetime(2026, 11, 30, tzinfo=dt.UTC), shopper_id="u1"
    )
    assert not assigner.assign(
        "home_feed", dt.datetime(2026, 12, 10, tzinfo=dt.UTC), shopper_id="u1"
    )
    assert not assigner.assign("home_feed", AT, session_id="s1")  # no shopper id given


def test_time_slices_give_every_request_of_a_slice_the_same_variant(make_definition) -> None:
    exp = _exp(
        make_definition,
        surface="pricing",
        unit="time_slice",
        slice_minutes=60,
        primary_metric="profit_per_unit",
    )
    assigner = Assigner([exp])
    in_slice = [AT + dt.timedelta(minutes=m) for m in range(0, 60, 7)]
    got = {
        assigner.assign("pricing", t, item_id=f"i{m}")[0].variant for m, t in enumerate(in_slice)
    }
    assert len(got) == 1
    hours = [assigner.assign("pricing", AT + dt.timedelta(hours=h))[0] for h in range(48)]
    assert {a.variant for a in hours} == {"control", "treatment"}
    assert hours[0].unit_id == slice_index(AT, 60) != hours[1].unit_id


def test_naive_moments_are_refused(make_definition) -> None:
    with pytest.raises(ValueError, match="at:"):
        slice_index(dt.datetime(2026, 12, 1), 60)
    with pytest.raises(ValueError, match="at:"):
        Assigner([_exp(make_definition)]).assign(
            "home_feed", dt.datetime(2026, 12, 5), shopper_id="u"
        )


def test_assignment_takes_microseconds(make_definition) -> None:
    assigner = Assigner([_exp(make_definition, name=f"e{i}", layer=f"l{i}") for i in range(3)])
    ids = [f"u{i}" for i in range(20_000)]
    started = time.perf_counter()
    for unit in ids:
        assigner.assign("home_feed", AT, shopper_id=unit)
    per_request = (time.perf_counter() - started) / len(ids)
    assert per_request < 100e-6  # three experiments per request, on a shared 2-core machine
