"""Fixtures of the experiment tests: definitions, a store, and a simulated A/B test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from experiments.assignment import assign
from experiments.config import Experiment
from experiments.records import Exposure, Outcome
from experiments.store import ExperimentStore

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def definition(**overrides: Any) -> dict[str, Any]:
    """A valid home-feed experiment as raw YAML data, with top-level overrides."""
    raw: dict[str, Any] = {
        "name": "feed_test",
        "surface": "home_feed",
        "unit": "shopper",
        "variants": [
            {"name": "control", "weight": 0.5, "strategy": "popularity"},
            {"name": "treatment", "weight": 0.5, "model_alias": "champion"},
        ],
        "start": "2026-12-01T00:00:00Z",
        "primary_metric": "conversion",
        "guardrail_metrics": ["latency_ms", "error_rate"],
    }
    return raw | overrides


@pytest.fixture()
def experiment() -> Experiment:
    return Experiment.model_validate(definition())


@pytest.fixture()
def store(tmp_path: Path) -> ExperimentStore:
    return ExperimentStore(f"sqlite:///{tmp_path / 'experiments.db'}")


def simulate_logs(
    experiment: Experiment,
    n_units: int = 4000,
    days: int = 7,
    conversion: float = 0.10,
    lift: float = 0.0,
    latency_shift: float = 0.0,
    drop_treatment: float = 0.0,
    seed: int = 0,
) -> tuple[list[Exposure], list[Outcome]]:
    """A shopper A/B test with a known effect: each shopper arrives on a random day, is
    served once (assigned by hash), clicks, buys with probability ``conversion`` (times
    1 + ``lift`` in treatment) and bought before the test with a correlated propensity.
    ``drop_treatment`` loses that share of treatment exposures (a sample-ratio mismatch).
    """
    rng = np.random.default_rng(seed)
    exposures, outcomes = [], []
    for i in range(n_units):
        unit = f"u{i:06d}"
        variant = assign(experiment, unit).variant
        treated = variant != experiment.control
        if treated and rng.random() < drop_treatment:
            continue
        at = START + dt.timedelta(days=int(rng.integers(days)), minutes=int(rng.integers(1440)))
        propensity = conversion * rng.lognormal(-0.5, 1.0) / np.exp(0.0)
        segment = "new" if i % 3 == 0 else "returning"
        exposures.append(
            Exposure(
                f"r{i}",
                experiment.name,
                variant,
                unit,
                experiment.surface,
                at,
                items=["i1", "i2"],
                segment=segment,
                latency_ms=float(rng.normal(40 + (latency_shift if treated else 0), 5)),
                error=bool(rng.random() < 0.01),
            )
        )
        if rng.random() < 0.3:
            outcomes.append(
                Outcome(
                    f"c{i}", unit, "click", "i1", at + dt.timedelta(minutes=1), request_id=f"r{i}"
                )
            )
        p = min(1.0, propensity * (1 + lift if treated else 1))
        if rng.random() < p:
            outcomes.append(
                Outcome(
                    f"p{i}",
                    unit,
                    "purchase",
                    "i1",
                    at + dt.timedelta(hours=1),
                    revenue=float(rng.lognormal(3, 0.5)),
                    profit=5.0,
                )
            )
        if rng.random() < min(1.0, 2 * propensity):
            outcomes.append(
                Outcome(
                    f"pre{i}",
                    unit,
                    "purchase",
                    "i2",
                    at - dt.timedelta(days=3),
                    revenue=float(rng.lognormal(3, 0.5)),
                )
            )
    return exposures, outcomes


@pytest.fixture()
def logs() -> Callable[..., tuple[list[Exposure], list[Outcome]]]:
    return simulate_logs


@pytest.fixture()
def make_definition() -> Callable[..., dict[str, Any]]:
    return definition
