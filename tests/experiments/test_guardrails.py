"""Latency budgets: a guardrail judged against configured milliseconds, not only against
the control; and the typed settings of budgets and of the planned sample."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
import yaml

from cli.experiments import report_headline
from experiments.config import Experiment, load_experiment
from experiments.guardrails import quantile
from experiments.records import Exposure, Outcome
from experiments.report import build_report
from experiments.report_html import render
from storefront.config import ConfigError

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _report(store, raw: dict[str, Any], latency: dict[str, tuple[float, float]]) -> dict:
    """A 2,000-shopper test whose arms answer in lognormal(median, sd of log) ms."""
    experiment = Experiment.model_validate(raw)
    store.create(experiment)
    rng = np.random.default_rng(11)
    served, events = [], []
    for i in range(2000):
        variant = "treatment" if i % 2 else "control"
        median, spread = latency[variant]
        at = START + dt.timedelta(minutes=int(rng.integers(1440)))
        ms = float(median * rng.lognormal(0.0, spread))
        served.append(
            Exposure(f"r{i}", raw["name"], variant, f"u{i}", "home_feed", at, latency_ms=ms)
        )
        if rng.random() < 0.1:
            events.append(Outcome(f"p{i}", f"u{i}", "purchase", "i1", at, request_id=f"r{i}"))
    store.log_exposures(served)
    store.log_outcomes(events)
    return build_report(store, raw["name"])


def test_a_slower_ranker_within_its_budget_is_not_breached(store, make_definition) -> None:
    """9 ms against a popularity list's 0.8 ms: +1,000%, and well within p99 <= 50 ms."""
    raw = make_definition(guardrail_budgets={"latency_p99_ms": 50})
    report = _report(store, raw, {"control": (0.8, 0.2), "treatment": (9.0, 0.3)})
    budget = report["guardrail_budgets"]["latency_p99_ms"]
    assert budget["limit_ms"] == 50 and budget["breached_by"] == []
    assert 9 < budget["per_variant"]["treatment"]["value"] < 50
    assert budget["per_variant"]["control"]["exposures"] == 1000
    latency = report["metrics"]["latency_ms"]
    assert latency["comparisons"]["treatment"]["relative"] > 9  # still shown: +1,000%
    assert latency["comparisons"]["treatment"]["harmful"]  # ... as information only
    assert report["guardrails_breached"] == [] and report["guardrail_breaches"] == []
    assert report["verdict"]["decision"] != "dont_ship"
    assert "judged by budget" in render(report)


def test_a_treatment_over_its_budget_is_breached(store, make_definition) -> None:
    raw = make_definition(guardrail_budgets={"latency_p99_ms": 50})
    report = _report(store, raw, {"control": (40.0, 0.1), "treatment": (42.0, 0.3)})
    assert report["guardrail_budgets"]["latency_p99_ms"]["breached_by"] == ["treatment"]
    assert report["guardrails_breached"] == ["latency_p99_ms"]
    assert report["verdict"]["decision"] == "dont_ship"
    lines = report_headline("feed_test", report)
    assert lines[0].startswith("feed_test: verdict: don't ship treatment (guardrail breached")
    assert lines[1].startswith("  guardrail breached: treatment: latency_p99_ms")


def test_without_a_budget_latency_is_judged_against_the_control(store, make_definition) -> None:
    report = _report(store, make_definition(), {"control": (0.8, 0.2), "treatment": (9.0, 0.3)})
    assert report["guardrail_budgets"] == {} and report["guardrails_breached"] == ["latency_ms"]
    assert report["guardrail_breaches"][0]["judged_by"] == "relative"


def test_quantile_is_the_interpolated_order_statistic() -> None:
    values = np.arange(1.0, 102.0)  # 1 … 101: h = 100 q, an exact order statistic
    assert quantile(values, 0.99) == 100.0 and quantile(values, 0.5) == 51.0
    assert quantile(np.array([1.0, 2.0]), 0.5) == 1.5
    assert np.isnan(quantile(np.empty(0), 0.99))


def _load(tmp_path, make_definition, **overrides: Any) -> Experiment:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(make_definition(**overrides)))
    return load_experiment(path)


def test_budgets_and_design_are_typed_settings(tmp_path, make_definition) -> None:
    loaded = _load(
        tmp_path,
        make_definition,
        guardrail_budgets={"latency_p99_ms": 50},
        design={"baseline": 0.05, "mde": 0.05},
    )
    assert loaded.guardrail_budgets.limits() == {"latency_p99_ms": (0.99, 50.0)}
    assert loaded.planned_units(0.05) == {"control": 122_121, "treatment": 122_121}
    with pytest.raises(ConfigError, match="latency_p99_ms"):
        _load(tmp_path, make_definition, guardrail_budgets={"latency_p99": 50})
    with pytest.raises(ConfigError, match=r"guardrail_budgets\.latency_p99_ms"):
        _load(tmp_path, make_definition, guardrail_budgets={"latency_p99_ms": -1})
    with pytest.raises(ConfigError, match="baseline"):
        _load(tmp_path, make_definition, design={"baseline": 5, "mde": 0.05})


def test_the_design_plans_for_unequal_weights_with_the_control_first(make_definition) -> None:
    raw = make_definition(
        variants=[
            {"name": "treatment", "weight": 0.8},
            {"name": "control", "weight": 0.2},
        ],
        control="control",
        design={"baseline": 0.1, "mde": 0.1},
    )
    planned = Experiment.model_validate(raw).planned_units(0.05)
    assert planned is not None and abs(planned["treatment"] - 4 * planned["control"]) <= 4
