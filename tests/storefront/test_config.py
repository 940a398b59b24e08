"""YAML configuration is validated into pydantic models with named errors."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from cli import app
from experiments.config import Experiment, ExperimentsSettings, load_experiment
from features.config import FeatureConfig
from retraining.config import RetrainConfig
from serving.config import ServingConfig
from simulator import SimulationConfig
from simulator.traffic import TrafficConfig
from storefront.config import PROJECT_ROOT, ConfigError, Settings, config_dir, load_config
from storefront.engine import EngineConfig
from training.demand.config import DemandConfig
from training.elasticity.config import ElasticityConfig
from training.pricing.config import PricingConfig
from training.recommender.config import RecommenderConfig
from training.recommender.rules import BusinessRules
from training.replenishment.config import InventoryConfig


def test_shipped_simulation_yaml_matches_the_embedded_defaults() -> None:
    assert load_config(SimulationConfig, name="simulation") == SimulationConfig()
    assert (config_dir() / "simulation.yaml").exists()


def test_missing_named_file_falls_back_to_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREFRONT_CONFIG_DIR", str(tmp_path))
    assert load_config(SimulationConfig, name="simulation") == SimulationConfig()


def test_partial_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text("seed: 7\ncatalog:\n  n_items: 50\n")
    cfg = load_config(SimulationConfig, path)
    assert (cfg.seed, cfg.catalog.n_items, cfg.n_users) == (7, 50, SimulationConfig().n_users)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("catalog:\n  n_items: many\n", "catalog.n_items"),
        ("days: 3\n", "days"),
        (
            "tiers:\n  - {name: a, share: 0.5, elasticity_multiplier: 1, promo_lift: 1}\n",
            "sum to 1",
        ),
        ("- just a list\n", "must hold a mapping"),
        ("seed: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_file_names_the_field(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"sim\.yaml") as caught:
        load_config(SimulationConfig, path)
    assert named in str(caught.value)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(SimulationConfig, tmp_path / "nope.yaml")


# --- strict keys: every shipped file, its model, and misspellings refused -------------

CONFIGS = PROJECT_ROOT / "configs"

MODELS: dict[str, type[BaseModel]] = {
    "business_rules.yaml": BusinessRules,
    "demand.yaml": DemandConfig,
    "elasticity.yaml": ElasticityConfig,
    "engine.yaml": EngineConfig,
    "experiments.yaml": ExperimentsSettings,
    "experiments/home_feed_ranker.yaml": Experiment,
    "experiments/pricing_optimiser.yaml": Experiment,
    "feature_store.scale.yaml": FeatureConfig,
    "features.yaml": FeatureConfig,
    "inventory.yaml": InventoryConfig,
    "pricing.yaml": PricingConfig,
    "recommender.quickstart.yaml": RecommenderConfig,
    "recommender.yaml": RecommenderConfig,
    "retrain.quickstart.yaml": RetrainConfig,
    "retrain.yaml": RetrainConfig,
    "serving.yaml": ServingConfig,
    "simulation.yaml": SimulationConfig,
    "traffic.quickstart.yaml": TrafficConfig,
    "traffic.yaml": TrafficConfig,
}
"""Every YAML file in ``configs/`` (relative path) and the model it is loaded into."""

SETTINGS_MODULES = [
    "experiments.config",
    "simulator.traffic",
    "features.config",
    "serving.config",
    "training.recommender.rules",
    "simulator.config",
    "training.demand.config",
    "training.elasticity.config",
    "training.pricing.config",
    "training.recommender.config",
    "training.replenishment.config",
    "training.tuning",
    "retraining.config",
    "storefront.engine",
]


def _load(model: type[BaseModel], path: Path) -> BaseModel:
    """Load ``path`` the way the project does (experiment definitions by their loader)."""
    return load_experiment(path) if model is Experiment else load_config(model, path)


def _misspelt(key: str) -> str:
    """``key`` with its middle letter changed."""
    i = len(key) // 2
    return key[:i] + ("q" if key[i] == "x" else "x") + key[i + 1 :]


def _first_nested_key(raw: dict[str, Any]) -> list[str | int]:
    """Path of the first key inside a section (a mapping, or a list of mappings, under a
    top-level key), else of the first top-level key."""
    for top, value in raw.items():
        if isinstance(value, dict) and value:
            return [top, next(iter(value))]
        if isinstance(value, list) and value and isinstance(value[0], dict) and value[0]:
            return [top, 0, next(iter(value[0]))]
    return [next(iter(raw))]


def _rename(raw: Any, path: list[str | int], new: str) -> None:
    """Rename the key at ``path`` (its last part) to ``new`` in place, keeping its value."""
    for part in path[:-1]:
        raw = raw[part]
    raw[new] = raw.pop(path[-1])


def test_every_config_file_has_a_model() -> None:
    files = {p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*.y*ml")}
    assert files == set(MODELS), "add each new YAML file in configs/ to MODELS"


@pytest.mark.parametrize(("name", "model"), sorted(MODELS.items()))
def test_every_config_file_loads_with_its_model(name: str, model: type[BaseModel]) -> None:
    assert isinstance(_load(model, CONFIGS / name), model)


@pytest.mark.parametrize(("name", "model"), sorted(MODELS.items()))
def test_a_misspelt_key_in_any_config_file_is_refused_with_the_suggestion(
    tmp_path: Path, name: str, model: type[BaseModel]
) -> None:
    raw = yaml.safe_load((CONFIGS / name).read_text())
    path = _first_nested_key(raw)
    key = str(path[-1])
    _rename(raw, path, _misspelt(key))
    copy = tmp_path / Path(name).name
    copy.write_text(yaml.safe_dump(raw, sort_keys=False))
    dotted = ".".join(str(p) for p in [*path[:-1], _misspelt(key)])
    with pytest.raises(ConfigError) as caught:
        _load(model, copy)
    message = str(caught.value)
    assert str(copy) in message
    assert f"unknown key '{dotted}' (did you mean '{key}'?)" in message


def test_every_settings_model_refuses_unknown_keys() -> None:
    for module_name in SETTINGS_MODULES:
        module = importlib.import_module(module_name)
        models = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, BaseModel)
            and obj.__module__ == module_name
        ]
        assert models, module_name
        for model in models:
            assert issubclass(model, Settings), f"{module_name}.{model.__name__}"
            assert model.model_config.get("extra") == "forbid", model.__name__


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sequental:\n  epochs: 3\n", "unknown key 'sequental' (did you mean 'sequential'?)"),
        ("sequential:\n  epocks: 3\n", "unknown key 'sequential.epocks' (did you mean 'epochs'?)"),
        ("ranker: {rouns: 3}\n", "unknown key 'ranker.rouns' (did you mean 'rounds'?)"),
        ("tuning: {trails: 3}\n", "unknown key 'tuning.trails' (did you mean 'trials'?)"),
    ],
)
def test_a_misspelt_section_or_nested_key_names_the_suggestion(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "recommender.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(RecommenderConfig, path)
    assert str(caught.value) == f"config file {path}: {expected}"


@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [
        (
            PricingConfig,
            "max_daily_chnage: 0.2\n",
            "unknown key 'max_daily_chnage' (did you mean 'max_daily_change'?)",
        ),
        (  # dict of models: the suggestion comes from the value's model
            PricingConfig,
            "category_bounds: {c1: {min_ratoi: 0.8}}\n",
            "unknown key 'category_bounds.c1.min_ratoi' (did you mean 'min_ratio'?)",
        ),
        (  # list of models
            SimulationConfig,
            "tiers:\n  - {name: a, share: 1, elasticity_multiplier: 1, promo_lift: 1, shar: 1}\n",
            "unknown key 'tiers.0.shar' (did you mean 'share'?)",
        ),
        (  # nothing close: the valid keys at that level
            PricingConfig,
            "bounds: {zzz: 1}\n",
            "unknown key 'bounds.zzz' (valid keys: max_ratio, min_ratio)",
        ),
        (  # every unknown key is named
            InventoryConfig,
            "lead_tiem_days: 3\nreview_dais: 2\n",
            "unknown key 'lead_tiem_days' (did you mean 'lead_time_days'?); "
            "unknown key 'review_dais' (did you mean 'review_days'?)",
        ),
    ],
)
def test_unknown_keys_resolve_the_nested_model(
    tmp_path: Path, model: type[BaseModel], text: str, expected: str
) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(model, path)
    assert str(caught.value) == f"config file {path}: {expected}"


def test_an_unknown_key_beside_an_invalid_value_names_both(tmp_path: Path) -> None:
    path = tmp_path / "pricing.yaml"
    path.write_text("grid_step: lots\nexploration: {enabeld: true}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(PricingConfig, path)
    message = str(caught.value)
    assert message.startswith(f"config file {path} is invalid: ")
    assert "grid_step: Input should be a valid number" in message
    assert "unknown key 'exploration.enabeld' (did you mean 'enabled'?)" in message


class _Inner(Settings):
    window: int = Field(default=1, alias="windowDays")


class _Outer(Settings):
    inner: _Inner | None = None
    by_name: dict[str, list[_Inner]] = Field(default_factory=dict)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("inner: {windowDay: 2}\n", "unknown key 'inner.windowDay' (did you mean 'windowDays'?)"),
        (
            "by_name: {a: [{windowDays: 1}, {windo: 2}]}\n",
            "unknown key 'by_name.a.1.windo' (did you mean 'window'?)",
        ),
    ],
)
def test_suggestions_cover_aliases_optionals_and_nested_containers(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(_Outer, path)
    assert str(caught.value) == f"config file {path}: {expected}"


def test_an_unknown_business_rule_in_an_experiment_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((CONFIGS / "experiments" / "home_feed_ranker.yaml").read_text())
    raw["variants"][1]["business_rules"] = {"in_stok_only": True}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert str(caught.value) == (
        f"config file {path}: unknown key 'variants.1.business_rules.in_stok_only' "
        "(did you mean 'in_stock_only'?)"
    )


def test_the_cli_exits_on_a_misspelt_key_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("max_daily_chnage: 0.2\n")
    (tmp_path / "shop").mkdir()
    result = CliRunner().invoke(
        app, ["price", "propose", "--config", str(path), "--data-dir", str(tmp_path / "shop")]
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"config file {path}: unknown key 'max_daily_chnage'" in output
    assert "(did you mean 'max_daily_change'?)" in output
