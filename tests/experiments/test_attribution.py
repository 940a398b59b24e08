"""Attribution: by request id first, else by unit within the window; pre-period apart."""

from __future__ import annotations

import datetime as dt

import pytest

from experiments.config import Experiment
from experiments.records import Exposure, Outcome

AT = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.fixture()
def shopper_store(store, experiment):
    store.create(experiment)
    store.log_exposures(
        [
            Exposure("r1", "feed_test", "treatment", "u1", "home_feed", AT),
            Exposure("r2", "feed_test", "treatment", "u1", "home_feed", AT + 30 * H),
            Exposure("r3", "feed_test", "control", "u2", "home_feed", AT),
        ]
    )
    return store


def test_outcomes_follow_request_id_then_unit_window(shopper_store) -> None:
    shopper_store.log_outcomes(
        [
            Outcome("a", "u1", "purchase", "i1", AT + 2 * H, revenue=10.0),  # unit, in window
            Outcome("b", "u1", "purchase", "i1", AT + 26 * H, revenue=20.0),  # unit, after window
            Outcome("c", "u1", "purchase", "i1", AT + 31 * H, revenue=40.0, request_id="r2"),
            Outcome("d", "u1", "purchase", "i1", AT - 48 * H, revenue=80.0),  # pre-period
            Outcome("e", "u3", "purchase", "i1", AT + H, revenue=160.0),  # never exposed
            Outcome("f", "u2", "click", "i1", AT + H, request_id="r3"),
        ]
    )
    units = shopper_store.attributed("feed_test").units().sort("unit_id")
    assert units["revenue"].to_list() == [50.0, 0.0]
    assert units["purchases"].to_list() == [2.0, 0.0]
    assert units["exposures"].to_list() == [2.0, 1.0]
    assert units["clicks"].to_list() == [0.0, 1.0]
    assert units["pre_revenue"].to_list() == [80.0, 0.0]
    assert units["variant"].to_list() == ["treatment", "control"]


def test_daily_rows_split_by_day(shopper_store) -> None:
    shopper_store.log_outcomes(
        [Outcome("c", "u1", "purchase", "i1", AT + 31 * H, revenue=40.0, request_id="r2")]
    )
    daily = shopper_store.attributed("feed_test").daily.filter(unit_id="u1").sort("day")
    assert daily["day"].to_list() == [dt.date(2026, 12, 2), dt.date(2026, 12, 3)]
    assert daily["revenue"].to_list() == [0.0, 40.0]


def test_units_served_several_variants_are_left_out(store, experiment) -> None:
    from experiments.attribution import attribute

    store.create(experiment)
    store.log_exposures(
        [
            Exposure("r1", "feed_test", "treatment", "u1", "home_feed", AT),
            Exposure("r2", "feed_test", "control", "u1", "home_feed", AT + H),
            Exposure("r3", "feed_test", "control", "u2", "home_feed", AT),
        ]
    )
    served = store.exposures_frame("feed_test")
    result = attribute(experiment, served, store.outcomes_frame(experiment, served))
    assert result.mixed_units == 1
    assert result.units()["unit_id"].to_list() == ["u2"]


def test_item_experiments_attribute_by_item(store, make_definition) -> None:
    exp = Experiment.model_validate(
        make_definition(
            name="price", surface="pricing", unit="item", primary_metric="profit_per_unit"
        )
    )
    store.create(exp)
    store.log_exposures(
        [Exposure("r1", "price", "control", "i1", "pricing", AT, items=["i1"], prices=[9.99])]
    )
    store.log_outcomes(
        [
            Outcome("a", "shopper-x", "purchase", "i1", AT + H, revenue=9.99, profit=3.0),
            Outcome("b", "shopper-y", "purchase", "i2", AT + H, revenue=5.0, profit=1.0),
        ]
    )
    units = store.attributed("price").units()
    assert units["unit_id"].to_list() == ["i1"]
    assert units["profit"].to_list() == [3.0]


def test_time_slice_experiments_attribute_by_slice(store, make_definition) -> None:
    exp = Experiment.model_validate(
        make_definition(
            name="switch",
            surface="pricing",
            unit="time_slice",
            slice_minutes=60,
            primary_metric="revenue_per_unit",
        )
    )
    store.create(exp)
    from experiments.assignment import slice_index

    slice_now = slice_index(AT, 60)
    store.log_exposures([Exposure("r1", "switch", "control", slice_now, "pricing", AT)])
    store.log_outcomes(
        [
            Outcome("a", "s1", "purchase", "i1", AT + dt.timedelta(minutes=20), revenue=7.0),
            Outcome("b", "s1", "purchase", "i1", AT + 2 * H, revenue=11.0),  # a later slice
        ]
    )
    units = store.attributed("switch").units()
    assert units["unit_id"].to_list() == [slice_now]
    assert units["revenue"].to_list() == [7.0]
