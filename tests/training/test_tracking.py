"""Runs that always end, with names, tags and curves a reader can use; experiments that
say what they hold and open on their runs."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from simulator import TRUTH_FILE
from storefront.feeds import write_feeds
from training import tracking
from training.demand.config import DemandConfig
from training.tracking import (
    CLASSIC_ML,
    EXPERIMENT_KIND,
    NOTE,
    config_hash,
    log_curve,
    run_name,
    run_tags,
    tracked_run,
    use_experiment,
)


@pytest.fixture()
def experiment(mlflow_store: str) -> str:
    name = f"tracking-{uuid.uuid4().hex[:8]}"
    use_experiment(mlflow_store, name, description="what these runs are")
    return name


def _status(run_id: str) -> str:
    return mlflow.get_run(run_id).info.status


def test_a_run_ends_finished_failed_or_killed(experiment: str) -> None:
    with tracked_run("fine") as run:
        mlflow.log_metric("test/x", 1.0)
    assert _status(run.info.run_id) == "FINISHED"

    with pytest.raises(ValueError, match="broken"), tracked_run("broken") as run:
        raise ValueError("broken")
    assert _status(run.info.run_id) == "FAILED"

    with pytest.raises(KeyboardInterrupt), tracked_run("interrupted") as run:
        raise KeyboardInterrupt
    assert _status(run.info.run_id) == "KILLED"
    assert mlflow.active_run() is None


def test_nested_runs_are_children_of_the_open_run(experiment: str) -> None:
    with tracked_run("retrain") as parent:
        with tracked_run("step one", nested=True) as child:
            pass
        with pytest.raises(KeyboardInterrupt), tracked_run("step two", nested=True) as killed:
            raise KeyboardInterrupt
        assert mlflow.active_run().info.run_id == parent.info.run_id
    for run, status in ((child, "FINISHED"), (killed, "KILLED")):
        got = mlflow.get_run(run.info.run_id)
        assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert got.info.status == status
    assert _status(parent.info.run_id) == "FINISHED"


def test_curves_are_step_metrics(experiment: str) -> None:
    with tracked_run("curves") as run:
        log_curve({"curve/loss": [3.0, 2.0, float("nan"), 1.5]})
    history = MlflowClient().get_metric_history(run.info.run_id, "curve/loss")
    assert [(m.step, m.value) for m in history] == [(1, 3.0), (2, 2.0), (4, 1.5)]


def test_the_experiment_is_described_and_opens_on_its_runs(experiment: str) -> None:
    tags = mlflow.get_experiment_by_name(experiment).tags
    assert tags[NOTE] == "what these runs are"
    assert tags[EXPERIMENT_KIND] == CLASSIC_ML


def test_names_and_tags_say_what_and_when(small_sim, tmp_path: Path) -> None:
    simulated, loaded = tmp_path / "sim", tmp_path / "my-shop"
    write_feeds(small_sim.feeds, simulated, side_files={TRUTH_FILE: small_sim.truth.save})
    write_feeds(small_sim.feeds, loaded)
    when = dt.datetime(2026, 12, 1, 20, 31, 59)
    assert run_name("recommender", simulated, when) == "recommender · simulator · 2026-12-01 20:31"
    assert run_name("demand", loaded, when) == "demand · my-shop · 2026-12-01 20:31"
    tags = run_tags("demand", loaded, DemandConfig(), ("2025-06-01", "2025-07-30"))
    assert tags["storefront.family"] == "demand"
    assert tags["storefront.data_dir"] == str(loaded.resolve())
    assert re.fullmatch(r"[0-9a-f]{12}", tags["config_hash"])
    assert (tags["feed_first_day"], tags["feed_last_day"]) == ("2025-06-01", "2025-07-30")
    assert tags["git_commit"] != ""


def test_config_hash_follows_the_validated_config() -> None:
    assert config_hash(DemandConfig()) == config_hash(DemandConfig(horizon=28))
    assert config_hash(DemandConfig()) != config_hash(DemandConfig(horizon=14))


def test_git_commit_is_unknown_outside_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracking, "PROJECT_ROOT", tmp_path)
    assert tracking.git_commit() == "unknown"


def test_a_run_opened_inside_another_is_its_child_by_default(experiment: str) -> None:
    with tracked_run("retrain") as parent, tracked_run("train demand") as child:
        pass
    tags = mlflow.get_run(child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id
