"""Experiment definitions: the examples load, and bad definitions are refused by field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from experiments.config import load_experiment, load_settings
from storefront.config import PROJECT_ROOT, ConfigError

EXAMPLES = PROJECT_ROOT / "configs" / "experiments"


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_example_definitions_load() -> None:
    feed = load_experiment(EXAMPLES / "home_feed_ranker.yaml")
    price = load_experiment(EXAMPLES / "pricing_optimiser.yaml")
    assert (feed.surface, feed.unit, feed.control) == ("home_feed", "shopper", "control")
    assert (price.surface, price.unit, price.control) == ("pricing", "item", "current")
    assert feed.salt == "home_feed_ranker" and feed.start.utcoffset().total_seconds() == 0


def test_salt_and_layer_default_to_the_name(tmp_path, make_definition) -> None:
    exp = load_experiment(_write(tmp_path, make_definition()))
    assert exp.salt == exp.layer == "feed_test"


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        (
            {"variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.4}]},
            "variants",
            "sum to 1",
        ),
        ({"variants": [{"name": "a", "weight": 1.0}]}, "variants", "at least 2"),
        (
            {"variants": [{"name": "a", "weight": 0.5}, {"name": "a", "weight": 0.5}]},
            "variants",
            "unique",
        ),
        (
            {"variants": [{"name": "a", "weight": 0.0}, {"name": "b", "weight": 1.0}]},
            "variants.0.weight",
            "greater than 0",
        ),
        ({"surface": "pricing", "unit": "shopper"}, "unit", "never by shopper"),
        ({"surface": "pricing", "unit": "session"}, "unit", "never by session"),
        ({"unit": "time_slice"}, "slice_minutes", "slice_minutes > 0"),
        ({"slice_minutes": 30}, "slice_minutes", "only to unit time_slice"),
        ({"start": "2026-12-01T00:00:00"}, "start", "timezone"),
        ({"stop": "2026-11-01T00:00:00Z"}, "stop", "not after start"),
        ({"primary_metric": "happiness"}, "primary_metric", "conversion"),
        ({"control": "nobody"}, "control", "not one of the variants"),
        ({"layer_range": [0.5, 0.2]}, "layer_range", "low < high"),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(
    tmp_path, make_definition, override, field, words
) -> None:
    path = _write(tmp_path, make_definition(**override))
    with pytest.raises(ConfigError) as err:
        load_experiment(path)
    assert str(path) in str(err.value)
    assert f"{field}:" in str(err.value) and words in str(err.value)


def test_price_tests_by_time_slice_are_accepted(tmp_path, make_definition) -> None:
    exp = load_experiment(
        _write(tmp_path, make_definition(surface="pricing", unit="time_slice", slice_minutes=60))
    )
    assert exp.slice_minutes == 60


def test_randomisation_changes_with_weights_but_not_description(make_definition) -> None:
    from experiments.config import Experiment

    base = Experiment.model_validate(make_definition())
    reworded = Experiment.model_validate(make_definition(description="new words"))
    reweighted = Experiment.model_validate(
        make_definition(
            variants=[{"name": "control", "weight": 0.4}, {"name": "treatment", "weight": 0.6}]
        )
    )
    assert base.randomisation() == reworded.randomisation()
    assert base.randomisation() != reweighted.randomisation()


def test_settings_default_and_refuse_unknown_keys(tmp_path) -> None:
    assert load_settings(PROJECT_ROOT / "configs" / "experiments.yaml").srm_p_threshold == 0.001
    path = tmp_path / "s.yaml"
    path.write_text("alpha: 2\n")
    with pytest.raises(ConfigError, match="alpha:"):
        load_settings(path)
