"""Validity of the statistics by simulation: A/A false positives, SRM power, CUPED's
variance reduction, false positives under continuous peeking.

Each check simulates many experiments at once (NumPy arrays, last axis = units) with a
fixed seed and runs them through the same functions the reports use. The tests and
``benchmarks/experiments_validity.py`` call these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from experiments.stats.cuped import cuped
from experiments.stats.lift import from_estimates, welch
from experiments.stats.ratio import ratio_lift
from experiments.stats.sequential import msprt_p_values
from experiments.stats.srm import srm_test

Advance = Callable[[int], None]


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def revenue_like(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Per-unit revenue as shops see it: most units 0, buyers log-normal (heavy tail)."""
    buys = rng.random(shape) < 0.08
    return np.where(buys, rng.lognormal(3.0, 1.0, shape), 0.0)


def aa_false_positive_rate(
    n_tests: int = 2000,
    n_per_arm: int = 2000,
    alpha: float = 0.05,
    seed: int = 1,
    advance: Advance | None = None,
) -> float:
    """Share of A/A tests (same distribution in both arms) Welch calls significant."""
    rng = np.random.default_rng(seed)
    rejected = 0
    for size in _chunks(n_tests, 250):
        control = revenue_like(rng, (size, n_per_arm))
        treatment = revenue_like(rng, (size, n_per_arm))
        rejected += int((welch(control, treatment, alpha).p_value < alpha).sum())
        if advance:
            advance(size)
    return rejected / n_tests


def aa_ratio_false_positive_rate(
    n_tests: int = 2000,
    n_per_arm: int = 2000,
    alpha: float = 0.05,
    seed: int = 6,
    advance: Advance | None = None,
) -> float:
    """Share of A/A tests of a ratio metric (click-through, clustered by shopper: each
    shopper has their own click propensity) the delta method calls significant."""
    rng = np.random.default_rng(seed)
    rejected = 0
    for size in _chunks(n_tests, 250):
        shape = (2, size, n_per_arm)
        impressions = rng.poisson(4.0, shape) + 1
        clicks = rng.binomial(impressions, rng.beta(1.0, 9.0, shape))
        lift = ratio_lift((clicks[0], impressions[0]), (clicks[1], impressions[1]), alpha)
        rejected += int((lift.p_value < alpha).sum())
        if advance:
            advance(size)
    return rejected / n_tests


def srm_power(
    n_runs: int = 1000,
    n_units: int = 100_000,
    mismatch: float = 0.05,
    threshold: float = 0.001,
    seed: int = 2,
) -> float:
    """Share of 50/50 experiments flagged when ``mismatch`` of the treatment's units are
    lost before logging (e.g. a variant that crashes)."""
    rng = np.random.default_rng(seed)
    treatment = rng.binomial(n_units, 0.5, n_runs)
    logged = rng.binomial(treatment, 1 - mismatch)
    counts = np.stack([n_units - treatment, logged], axis=-1)
    return float(srm_test(counts, [0.5, 0.5], threshold).flagged.mean())


def srm_false_alarm_rate(
    n_runs: int = 1000, n_units: int = 100_000, threshold: float = 0.001, seed: int = 3
) -> float:
    """Share of healthy 50/50 experiments flagged (should be about ``threshold``)."""
    rng = np.random.default_rng(seed)
    treatment = rng.binomial(n_units, 0.5, n_runs)
    counts = np.stack([n_units - treatment, treatment], axis=-1)
    return float(srm_test(counts, [0.5, 0.5], threshold).flagged.mean())


@dataclass(frozen=True)
class CupedCheck:
    """CUPED against the truth: ρ² of the simulated covariate, the variance reduction
    the adjustment reports, and the reduction of the lift estimate's variance across
    replications."""

    rho2: float
    reported_reduction: float
    estimator_reduction: float


def cuped_check(
    n_tests: int = 1000,
    n_per_arm: int = 2000,
    rho: float = 0.6,
    effect: float = 0.1,
    seed: int = 4,
    advance: Advance | None = None,
) -> CupedCheck:
    """Simulate y = ρx + √(1-ρ²)ε (+ effect in treatment); compare plain and CUPED lifts."""
    rng = np.random.default_rng(seed)
    plain, adjusted, reported = [], [], []
    for size in _chunks(n_tests, 250):
        x = rng.standard_normal((2, size, n_per_arm))
        y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((2, size, n_per_arm))
        y[1] += effect
        plain.append(welch(y[0], y[1]).absolute)
        result = cuped((y[0], x[0]), (y[1], x[1]))
        adjusted.append(result.lift.absolute)
        reported.append(result.variance_reduction)
        if advance:
            advance(size)
    estimator = 1 - np.var(np.concatenate(adjusted)) / np.var(np.concatenate(plain))
    return CupedCheck(rho**2, float(np.mean(np.concatenate(reported))), float(estimator))


@dataclass(frozen=True)
class PeekingCheck:
    """False-positive rates of A/A tests looked at after every batch of units."""

    sequential_fpr: float
    naive_fpr: float


def peeking_check(
    n_tests: int = 1000,
    looks: int = 50,
    per_look: int = 200,
    alpha: float = 0.05,
    tau: float = 0.1,
    seed: int = 5,
    advance: Advance | None = None,
) -> PeekingCheck:
    """Stop at the first look that is significant: mSPRT against a t-test at every look.

    Args:
        n_tests: A/A experiments simulated.
        looks: Looks per experiment.
        per_look: New units per arm between looks.
        alpha: Level.
        tau: mSPRT mixture sd in per-unit standard deviations.
        seed: Random seed.
        advance: Progress callback (tests done).
    """
    rng = np.random.default_rng(seed)
    sequential = naive = 0
    n = per_look * np.arange(1, looks + 1)
    for size in _chunks(n_tests, 100):
        data = revenue_like(rng, (2, size, looks * per_look)).reshape(2, size, looks, per_look)
        sums = np.cumsum(data.sum(axis=-1), axis=-1)
        squares = np.cumsum((data**2).sum(axis=-1), axis=-1)
        means = sums / n
        variances = (squares - n * means**2) / (n - 1) / n
        lift = from_estimates(means[0], variances[0], means[1], variances[1], alpha)
        naive += int((lift.p_value < alpha).any(axis=-1).sum())
        sd = np.sqrt((variances[0] + variances[1]) * n / 2)
        p = msprt_p_values(lift.absolute, variances[0] + variances[1], tau * sd)
        sequential += int((p < alpha).any(axis=-1).sum())
        if advance:
            advance(size)
    return PeekingCheck(sequential / n_tests, naive / n_tests)
