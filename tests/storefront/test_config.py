"""YAML configuration is validated into pydantic models with named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import SimulationConfig
from storefront.config import ConfigError, config_dir, load_config


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
