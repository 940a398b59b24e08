"""``train recommender`` end to end: every model judged, the run recorded in MLflow."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import mlflow
import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from features.build import build_features
from features.config import FeatureConfig
from simulator import SimulationConfig, simulate
from storefront.feeds import write_feeds
from training.recommender.config import RecommenderConfig, SequentialConfig, TrackingConfig
from training.recommender.pipeline import train_recommender

MODELS = {"popularity", "itemknn", "ease", "sequential", "final"}


@pytest.fixture(scope="module")
def shop_dir(make_config: Callable[..., SimulationConfig], tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "feeds"
    write_feeds(simulate(make_config(days=50)).feeds, path)
    build_features(path, FeatureConfig())
    return path


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> RecommenderConfig:
    store = tmp_path_factory.mktemp("mlflow")
    return RecommenderConfig(
        sequential=SequentialConfig(dim=16, layers=1, epochs=2, max_seconds=30),
        tracking=TrackingConfig(tracking_uri=f"sqlite:///{store / 'mlflow.db'}"),
    )


@pytest.fixture(scope="module")
def trained(shop_dir: Path, cfg: RecommenderConfig):
    return train_recommender(shop_dir, cfg)


@pytest.mark.slow
def test_every_model_is_judged_and_tracked(trained) -> None:
    report = trained
    assert set(report.results) == MODELS
    for metrics in report.results.values():
        assert {"ndcg@10", "recall@20", "mrr@10", "coverage@10", "cold_users.users"} <= set(metrics)
        assert 0 <= metrics["ndcg@10"] <= 1
    assert report.results["ease"]["ndcg@10"] > report.results["popularity"]["ndcg@10"]
    final, best_baseline = (
        report.results["final"],
        max(report.results[m]["ndcg@10"] for m in ("popularity", "itemknn", "ease")),
    )
    assert final["ndcg@10"] > best_baseline, "the re-ranked pipeline beats every baseline"
    assert final["cold_users.ndcg@10"] == pytest.approx(
        report.results["popularity"]["cold_users.ndcg@10"]
    ), "cold shoppers get popular items"

    assert set(report.item_to_item) == {"similar_items", "bought_together"}
    assert report.item_to_item["similar_items"]["pairs"] > 0
    run = mlflow.get_run(report.run_id)
    metrics = run.data.metrics
    assert metrics["model/ease/ndcg_at_10"] == pytest.approx(report.results["ease"]["ndcg@10"])
    assert metrics["test/ndcg_at_10"] == pytest.approx(final["ndcg@10"])
    assert metrics["slice/cold_users/ndcg_at_10"] == pytest.approx(final["cold_users.ndcg@10"])
    assert all("/" in key for key in metrics), "every metric sits in a group of the run page"
    assert run.data.params["split.test_days"] == "14"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(report.run_id, "plots")}
    assert {"plots/ndcg_by_k.png", "plots/coverage_by_k.png", "plots/cold_vs_warm.png"} <= artifacts
    folder = mlflow.artifacts.download_artifacts(run_id=report.run_id, artifact_path="embeddings")
    items = pl.read_parquet(Path(folder) / "item_embeddings.parquet")
    users = pl.read_parquet(Path(folder) / "user_embeddings.parquet")
    assert items.height == 300 and users.height > 1000
    assert items.schema["vector"] == users.schema["vector"] == pl.Array(pl.Float32, 16)


@pytest.mark.slow
def test_the_run_is_named_tagged_fed_and_has_curves(trained, shop_dir: Path) -> None:
    run = mlflow.get_run(trained.run_id)
    assert run.info.status == "FINISHED"
    assert re.fullmatch(r"recommender · feeds · \d{4}-\d\d-\d\d \d\d:\d\d", run.info.run_name)
    tags = run.data.tags
    assert tags["storefront.family"] == "recommender"
    assert tags["storefront.data_dir"] == str(shop_dir.resolve())
    assert re.fullmatch(r"[0-9a-f]{12}", tags["config_hash"])
    from storefront.feeds import read_feeds

    stamps = read_feeds(shop_dir).events["timestamp"]
    assert tags["feed_first_day"] == str(stamps.min().date()) == "2025-06-01"
    assert tags["feed_last_day"] == str(stamps.max().date())
    assert tags["git_commit"]
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    contexts = {name: {t.key: t.value for t in d.tags}["mlflow.data.context"]
                for name, d in inputs.items()}  # fmt: skip
    assert sorted(contexts.values()) == ["test", "training", "validation"]
    for d in inputs.values():
        assert json.loads(d.dataset.source)["uri"].endswith("feeds/feeds/events.parquet")
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "curve/sequential/loss")
    assert [m.step for m in history] == list(range(1, len(history) + 1)) and len(history) >= 1
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "test/" in experiment.tags["mlflow.note.content"]


@pytest.mark.slow
def test_promoting_the_champion_itself_answers_at_once(
    trained, shop_dir: Path, cfg: RecommenderConfig
) -> None:
    from training.recommender.registry import promote

    result = promote(cfg.tracking.model_name, shop_dir, cfg)
    assert result.same_version and not result.promoted and result.run_id is None
    assert (
        result.reason
        == f"challenger v{trained.model_version} is already the champion: nothing to compare"
    )


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_metrics(
    shop_dir: Path, cfg: RecommenderConfig, tmp_path: Path
) -> None:
    config = tmp_path / "rec.yaml"
    config.write_text(
        f"sequential: {{dim: 16, layers: 1, epochs: 1}}\n"
        f"tracking: {{tracking_uri: 'sqlite:///{tmp_path / 'cli.db'}'}}\n"
    )
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        app,
        ["train", "recommender", "--data-dir", str(shop_dir), "--config", str(config),
         "--metrics-out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ease" in result.output and "ndcg@10" in result.output
    figures = json.loads(out.read_text())
    assert set(figures["models"]) == MODELS and figures["primary_metric"] == "ndcg@10"


def test_too_short_history_is_named(tmp_path: Path, make_config) -> None:
    path = tmp_path / "feeds"
    write_feeds(simulate(make_config(days=20)).feeds, path)
    with pytest.raises(ValueError, match="too short"):
        train_recommender(path, RecommenderConfig())


def test_the_final_stage_needs_the_feature_store(tmp_path: Path, make_config) -> None:
    path = tmp_path / "feeds"
    write_feeds(simulate(make_config(days=40)).feeds, path)
    cfg = RecommenderConfig(
        sequential=SequentialConfig(dim=8, layers=1, epochs=1),
        tracking=TrackingConfig(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
    )
    with pytest.raises(ValueError, match="storefront features build"):
        train_recommender(path, cfg)


@pytest.mark.slow
def test_champion_loads_by_alias_and_recommends(
    trained, shop_dir: Path, cfg: RecommenderConfig
) -> None:
    import pandas as pd

    from storefront.feeds import read_feeds

    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{cfg.tracking.model_name}@champion")
    feeds = read_feeds(shop_dir)
    known = feeds.events["user_id"][-1]
    catalog = feeds.catalog.sort("created_at")
    new_item = catalog["item_id"][-1]  # launched last
    answers = model.predict(
        pd.DataFrame(
            {"user_id": [known, "never-seen", None], "item_id": [None, None, new_item], "k": 5}
        )
    )
    assert answers["strategy"].tolist() == ["sequential", "popularity", "similar_items"]
    assert all(len(items) == 5 for items in answers["item_ids"])
    assert new_item not in answers["item_ids"][2]
    same_category = catalog.filter(pl.col("item_id").is_in(answers["item_ids"][2]))["category"]
    own = catalog.filter(pl.col("item_id") == new_item)["category"][0]
    assert (same_category == own).sum() >= 3, "a new item's neighbours share its category"


@pytest.mark.slow
def test_promotion_compares_on_the_same_holdout(
    trained, shop_dir: Path, cfg: RecommenderConfig
) -> None:
    from training.recommender.registry import promote
    from training.registry import alias_version

    second = train_recommender(shop_dir, cfg)
    name = cfg.tracking.model_name
    assert alias_version(name, "challenger") == second.model_version
    assert alias_version(name, "champion") == trained.model_version
    result = promote(name, shop_dir, cfg)
    assert result.challenger == second.model_version
    assert [c.name for c in result.checks] == [
        "ndcg@10", "coverage@10", "cold_users.ndcg@10", "new_items.recall@20",
    ]  # fmt: skip
    assert result.promoted == all(c.passed for c in result.checks)
    expected = second.model_version if result.promoted else trained.model_version
    assert alias_version(name, "champion") == expected
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.data.params["promoted"] == str(result.promoted)
    assert run.data.metrics["challenger/cold_users/ndcg_at_10"] == result.checks[2].challenger
    forced = promote(name, shop_dir, cfg, force=True)
    assert alias_version(name, "champion") == second.model_version
    assert forced.same_version if result.promoted else (forced.promoted and forced.forced)
