"""The learning loop end to end: a served quickstart shop takes simulated traffic, then
``storefront retrain`` folds the events in, retrains, gates, promotes and reloads the
running service; ``storefront scheduler`` runs retrains on a cron without overlap."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient
from typer.testing import CliRunner

from cli import app
from jobs import experiments, quickstart, retrain, scheduler
from jobs.service import service_keys, start_service, stop_service
from retraining import history
from retraining.lock import RunInProgressError, exclusive
from simulator import Simulation
from storefront.config import config_dir
from storefront.feeds import read_feeds
from storefront.workspace import Workspace
from tests.serving.client import free_port

pytestmark = pytest.mark.slow
runner = CliRunner()


@dataclass(frozen=True)
class ServedShop:
    data_dir: Path
    url: str
    tracking_uri: str


@pytest.fixture(scope="module")
def served_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedShop]:
    """A small quickstart shop (own MLflow store), served, after a short simulated A/B
    run has posted its events to the service."""
    root = tmp_path_factory.mktemp("retrain")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    small = root / "small.yaml"
    small.write_text(
        "days: 45\nn_users: 500\ncatalog: {n_items: 60}\nbehaviour: {sessions_per_day: 60}\n"
    )
    traffic = root / "traffic.yaml"
    traffic.write_text("shoppers: 120\nvisits_per_shopper: 1\npricing_items: 40\n"
                       "pricing_days: 3\npre_days: 3\n")  # fmt: skip
    shop = root / "shop"
    for step in quickstart.plan(shop, config=small):
        step.run()
    port = free_port()
    keys = service_keys(shop)
    process = start_service(shop, port, root / "service.out", keys=keys)
    url = f"http://127.0.0.1:{port}"
    try:
        experiments.simulate(shop, url, traffic)
        yield ServedShop(shop, url, uri)
    finally:
        stop_service(process)
        patch.undo()


def _logged_ids(shop: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{Workspace(shop).event_log}")
    with engine.connect() as conn:
        ids = {row[0] for row in conn.execute(sa.text("SELECT event_id FROM events"))}
    engine.dispose()
    return ids


def _retrain_yaml(folder: Path, url: str | None, **extra: str) -> Path:
    path = folder / "retrain.yaml"
    lines = ["recommender_config: recommender.quickstart",
             f"service: {{url: {url or 'null'}}}",
             *(f"{k}: {v}" for k, v in extra.items())]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_retrain_folds_served_events_in_retrains_gates_promotes_and_reloads(
    served_shop: ServedShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", served_shop.tracking_uri)
    shop = served_shop.data_dir
    logged = _logged_ids(shop)
    feed_before = set(read_feeds(shop).events["event_id"])  # type: ignore[index]
    assert logged - feed_before, "the simulated traffic posted no new events"

    config = _retrain_yaml(tmp_path, served_shop.url)
    result = runner.invoke(app, ["retrain", "--data-dir", str(shop), "--config", str(config)])
    assert result.exit_code == 0, result.output

    record = history.read(Workspace(shop).retrain_history)[-1]
    steps = {s["step"]: s for s in record["steps"]}
    assert list(steps) == ["fold events", "features", "recommender", "demand", "elasticity",
                           "reload"]  # fmt: skip
    fold = steps["fold events"]
    assert fold["status"] == "done"
    assert fold["figures"]["added"] == len(logged - feed_before)
    feed_after = read_feeds(shop).events
    assert logged <= set(feed_after["event_id"])  # type: ignore[index]
    assert feed_after["event_id"].n_unique() == feed_after.height  # type: ignore[index]
    assert steps["features"]["status"] == "done"
    for family in ("recommender", "demand", "elasticity"):
        assert steps[family]["status"] in ("promoted", "kept champion"), steps[family]
        assert steps[family]["detail"], f"{family}: no reason given"
        assert steps[family]["links"]["challenger"] != steps[family]["links"]["champion_before"]

    champion = MlflowClient(served_shop.tracking_uri).get_model_version_by_alias(
        "storefront-recommender", "champion"
    )
    assert steps["reload"]["status"] == "done", steps["reload"]
    assert f"champion v{champion.version}" in steps["reload"]["detail"]
    assert record["status"] == "FINISHED"

    runs = MlflowClient(served_shop.tracking_uri).search_runs(
        [MlflowClient(served_shop.tracking_uri).get_experiment_by_name("retrain").experiment_id]
    )
    parent = next(r for r in runs if r.info.run_id == record["run_id"])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED"
    assert sorted(r.data.tags["step"] for r in children) == sorted(steps)
    assert all(r.info.status == "FINISHED" for r in children)

    again = retrain.run(shop, only=["demand"], config=config)  # nothing new to fold now
    assert [s.status for s in again.steps[:2]] == ["nothing new", "nothing new"]


def test_a_failed_step_keeps_the_champion_and_says_why(
    served_shop: ServedShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", served_shop.tracking_uri)
    configs = tmp_path / "configs"
    shutil.copytree(config_dir(), configs)
    (configs / "demand.yaml").write_text("horizon: 28\nroundz: 3\n")  # a typo in a key
    monkeypatch.setenv("STOREFRONT_CONFIG_DIR", str(configs))
    client = MlflowClient(served_shop.tracking_uri)
    before = client.get_model_version_by_alias("storefront-demand", "champion").version

    report = retrain.run(served_shop.data_dir, only=["demand"],
                         config=_retrain_yaml(tmp_path, None))  # fmt: skip

    step = next(s for s in report.steps if s.step == "demand")
    assert step.status == "failed" and "roundz" in step.detail
    assert report.failed == ["demand"]
    assert client.get_model_version_by_alias("storefront-demand", "champion").version == before
    assert history.read(Workspace(served_shop.data_dir).retrain_history)[-1]["status"] == "FAILED"


def test_a_retrain_waits_for_no_one_when_another_holds_the_shop(served_shop: ServedShop) -> None:
    lock = Workspace(served_shop.data_dir).retrain_lock
    with exclusive(lock), pytest.raises(RunInProgressError, match="another retrain"):
        retrain.run(served_shop.data_dir, only=["demand"])


def test_the_scheduler_runs_two_retrains_on_its_cron_without_overlap(
    served_shop: ServedShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", served_shop.tracking_uri)
    config = _retrain_yaml(tmp_path, None, families="[demand]",
                           schedule='{retrain: "*/2 * * * * *", features: null}')  # fmt: skip
    report = scheduler.run_scheduler(served_shop.data_dir, config, stop_after=2)

    retrains = [r for r in report.runs if r["kind"] == "retrain"]
    assert [r["status"] for r in retrains] == ["finished", "finished"]
    spans = [(dt.datetime.fromisoformat(str(r["started_at"])),
              dt.datetime.fromisoformat(str(r["finished_at"]))) for r in retrains]  # fmt: skip
    assert spans[0][1] <= spans[1][0], f"the two retrains overlapped: {spans}"
    written = history.read(Workspace(served_shop.data_dir).retrain_history)
    assert {r["run_id"] for r in retrains} <= {r.get("run_id") for r in written}


def test_folded_events_on_built_days_rebuild_the_feature_store(feed_dir: Path) -> None:
    from features.config import FeatureConfig, store_dir
    from features.store import built_through
    from features.tables import USER
    from jobs import features
    from storefront.feeds import fold_events

    features.build(feed_dir)
    events = read_feeds(feed_dir).events
    assert events is not None
    late = events.head(3).with_columns(
        pl.col("event_id") + "-late", user_id=pl.lit("u-late-shopper")
    )
    report = retrain.RetrainReport(feed_dir, dt.datetime.now(dt.UTC))
    folded = fold_events(feed_dir, late)
    assert folded.first_added is not None
    first = {"first_added": folded.first_added.isoformat()}
    report.steps.append(retrain.StepOutcome("fold events", "done", "3 added", links=first))

    step = retrain.build_features(feed_dir, report)

    assert step.status == "done" and step.detail.startswith("rebuilt"), step.detail
    built = built_through(feed_dir, FeatureConfig().store)
    assert built is not None and folded.first_added.date() <= built
    user_rows = pl.read_parquet(USER.glob(store_dir(feed_dir)))
    assert "u-late-shopper" in set(user_rows["user_id"])


def test_a_shop_without_events_skips_the_recommender_and_names_the_feed(
    small_sim: Simulation, tmp_path: Path
) -> None:
    from retraining.config import RetrainConfig
    from storefront.feeds import write_feeds

    shop = tmp_path / "sales-only"
    write_feeds({"catalog": small_sim.feeds.catalog, "sales": small_sim.feeds.sales}, shop)
    step = retrain.retrain_family(shop, "recommender", RetrainConfig())
    assert step.status == "skipped" and "events.parquet" in step.detail
