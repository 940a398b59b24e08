"""The elasticity estimates as a registered model: the first version is priced on at
once; a challenger's estimates reach pricing only when ``models promote`` promotes it."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import pytest

from features.build import build_features
from features.config import FeatureConfig
from jobs import models
from storefront.config import load_config
from training.elasticity.config import ElasticityConfig
from training.elasticity.pipeline import estimates_path, read_estimates, train_elasticity
from training.elasticity.registry import estimates_of
from training.registry import alias_version


@pytest.fixture(scope="module")
def shop(small_sim, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from storefront.feeds import write_feeds

    path = tmp_path_factory.mktemp("elasticity-registry") / "feeds"
    write_feeds(small_sim.feeds, path)
    build_features(path, FeatureConfig())
    return path


def _yaml(folder: Path, name: str, rounds: int, gate: str) -> Path:
    config = folder / f"elasticity-{rounds}.yaml"
    config.write_text(f"rounds: {rounds}\nmodel_name: {name}\ngate: {gate}\n")
    return config


@pytest.mark.slow
def test_a_challenger_is_priced_on_only_once_promoted(shop: Path, tmp_path: Path) -> None:
    name = f"elasticity-{uuid.uuid4().hex[:8]}"
    loose = "{implausible_tolerance: 1, max_implausible_share: 1, max_width_increase: 100}"
    first_cfg = load_config(ElasticityConfig, _yaml(tmp_path, name, 20, loose))
    first = train_elasticity(shop, first_cfg)
    assert first.model_version == alias_version(name, "champion") == "1"
    assert first.published == estimates_path(shop)
    assert read_estimates(shop).equals(first.estimates)

    second_yaml = _yaml(tmp_path, name, 40, loose)
    second = train_elasticity(shop, load_config(ElasticityConfig, second_yaml))
    assert second.model_version == alias_version(name, "challenger") == "2"
    assert second.published is None
    assert not second.estimates.equals(first.estimates)
    assert read_estimates(shop).equals(first.estimates), "pricing keeps the champion's"

    result = models.promote(name, shop, second_yaml)
    assert result.family == "elasticity" and result.promoted and not result.forced
    assert [c.name for c in result.checks] == [
        "share_implausible", "share_implausible (limit)", "median_interval_width",
    ]  # fmt: skip
    assert alias_version(name, "champion") == "2"
    assert str(estimates_path(shop)) in result.published
    assert read_estimates(shop).equals(second.estimates), "the promoted estimates are priced on"
    assert estimates_of(f"models:/{name}@champion").equals(second.estimates)
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["passed/median_interval_width"] == 1.0
