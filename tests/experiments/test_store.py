"""The experiment store: lifecycle, idempotent logs, and the same code on Postgres."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid

import pytest
from sqlalchemy import func, select, text

from experiments.config import Experiment
from experiments.records import Exposure, Outcome
from experiments.store import ExperimentStore
from experiments.tables import exposures, outcomes
from storefront.config import PROJECT_ROOT
from storefront.workspace import Workspace

AT = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)


def _count(store: ExperimentStore, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_sqlite_runs_in_wal_mode_with_full_sync(store) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_default_store_lives_in_the_shops_state(tmp_path) -> None:
    store = ExperimentStore.open(tmp_path / "shop")
    assert store.list() == []
    assert Workspace(tmp_path / "shop").experiments_db.exists()


def test_create_list_stop(store, experiment) -> None:
    assert store.create(experiment) == "created"
    assert [s.experiment.name for s in store.list()] == ["feed_test"]
    assert store.running() == [experiment]
    store.stop("feed_test", now=AT)
    stored = store.get("feed_test")
    assert (stored.status, stored.stopped_at) == ("stopped", AT)
    assert store.running() == []
    with pytest.raises(ValueError, match="already stopped"):
        store.stop("feed_test")
    with pytest.raises(ValueError, match="no experiment called 'other'"):
        store.get("other")


def test_a_running_experiment_keeps_its_randomisation(store, make_definition) -> None:
    store.create(Experiment.model_validate(make_definition()))
    reworded = Experiment.model_validate(make_definition(description="clearer"))
    assert store.create(reworded) == "updated"
    assert store.get("feed_test").experiment.description == "clearer"
    reweighted = make_definition(
        variants=[{"name": "control", "weight": 0.3}, {"name": "treatment", "weight": 0.7}]
    )
    with pytest.raises(ValueError, match=r"variants: .*changing weights mid-test reshuffles"):
        store.create(Experiment.model_validate(reweighted))
    with pytest.raises(ValueError, match="salt: "):
        store.create(Experiment.model_validate(make_definition(salt="fresh")))


def test_a_stopped_name_is_not_reused(store, experiment) -> None:
    store.create(experiment)
    store.stop(experiment.name)
    with pytest.raises(ValueError, match="new name"):
        store.create(experiment)


def test_overlapping_layers_are_refused_at_create(store, make_definition) -> None:
    store.create(Experiment.model_validate(make_definition(name="a", layer="feed")))
    clash = Experiment.model_validate(make_definition(name="b", layer="feed"))
    with pytest.raises(ValueError, match=r"layer_range: .*overlap"):
        store.create(clash)
    beside = make_definition(name="c", layer="feed", layer_range=[0.0, 0.5])
    with pytest.raises(ValueError, match="overlap"):
        store.create(Experiment.model_validate(beside))


def _batch() -> tuple[list[Exposure], list[Outcome]]:
    served = [
        Exposure(f"r{i}", "feed_test", "control", f"u{i}", "home_feed", AT, items=["i1"])
        for i in range(5)
    ]
    events = [Outcome(f"e{i}", f"u{i}", "click", "i1", AT, request_id=f"r{i}") for i in range(5)]
    return served, events


def test_logging_twice_counts_once(store, experiment) -> None:
    store.create(experiment)
    served, events = _batch()
    for _ in range(2):
        store.log_exposures(served)
        store.log_outcomes(events)
    assert (_count(store, exposures), _count(store, outcomes)) == (5, 5)
    store.log_outcomes([Outcome("e9", "u9", "view", "i1", AT)])
    assert _count(store, outcomes) == 6


def test_exposures_round_trip_in_utc(store, experiment) -> None:
    store.create(experiment)
    local = dt.datetime(2026, 12, 2, 11, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    store.log_exposures(
        [Exposure("r1", "feed_test", "treatment", "u1", "home_feed", local, latency_ms=12.5)]
    )
    frame = store.exposures_frame("feed_test")
    assert frame["served_at"].to_list() == [AT]
    assert frame["latency_ms"].to_list() == [12.5]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Outcome("e1", "u1", "refund", "i1", AT), "event_type"),
        (lambda: Outcome("e1", "u1", "purchase", "i1", AT.replace(tzinfo=None)), "occurred_at"),
        (lambda: Outcome("e1", "u1", "purchase", "i1", AT, quantity=0), "quantity"),
        (lambda: Outcome("", "u1", "purchase", "i1", AT), "event_id"),
        (
            lambda: Exposure("r", "x", "a", "u", "home_feed", AT, items=["i"], prices=[1.0, 2.0]),
            "prices",
        ),
        (lambda: Exposure("r", "x", "a", "", "home_feed", AT), "unit_id"),
    ],
)
def test_bad_records_are_refused_naming_the_field(make, field) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        make()


@pytest.mark.slow
def test_the_same_store_runs_on_postgres(experiment) -> None:
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "services.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"scale services did not start:\n{done.stderr[-3000:]}")
    url = dict(line.split("=", 1) for line in done.stdout.split())["STOREFRONT_TEST_POSTGRES"]
    store = ExperimentStore(url)
    name = f"pg_{uuid.uuid4().hex[:8]}"  # isolates this run in the shared server
    exp = experiment.model_copy(update={"name": name, "salt": name, "layer": name})
    assert store.create(exp) == "created"
    served = [
        Exposure(f"{name}-r{i}", name, "control", f"{name}-u{i}", "home_feed", AT) for i in range(3)
    ]
    events = [
        Outcome(
            f"{name}-e{i}",
            f"{name}-u{i}",
            "purchase",
            "i1",
            AT + dt.timedelta(hours=1),
            revenue=10.0,
        )
        for i in range(3)
    ]
    for _ in range(2):
        store.log_exposures(served)
        store.log_outcomes(events)
    units = store.attributed(name).units()
    assert units.height == 3 and units["revenue"].sum() == 30.0
    store.stop(name)
    assert store.get(name).status == "stopped"
