"""mSPRT: p-values never rise, and a real effect is found early."""

from __future__ import annotations

import numpy as np

from experiments.stats.sequential import msprt_interval, msprt_p_values


def test_p_values_are_non_increasing_and_within_0_1() -> None:
    rng = np.random.default_rng(5)
    p = msprt_p_values(rng.normal(0, 0.1, 50), np.full(50, 0.01), 0.1)
    assert np.all(np.diff(p) <= 0) and np.all((p >= 0) & (p <= 1))


def test_a_real_effect_crosses_alpha_and_no_effect_does_not() -> None:
    n = np.arange(1, 101) * 500
    variance = 2.0 / n  # unit-variance arms
    truth = 0.1
    assert msprt_p_values(np.full(100, truth), variance, 0.1)[-1] < 0.001
    assert msprt_p_values(np.zeros(100), variance, 0.1)[-1] == 1.0


def test_the_confidence_sequence_covers_the_truth_at_every_look_at_once() -> None:
    rng = np.random.default_rng(8)
    n = 100 * np.arange(1, 41)
    data = rng.standard_normal((2, 1000, 40, 100))
    data[1] += 0.05
    means = np.cumsum(data.sum(axis=-1), axis=-1) / n
    low, high = msprt_interval(means[1] - means[0], 2.0 / n, 0.1, alpha=0.05)
    covered_throughout = np.all((low <= 0.05) & (high >= 0.05), axis=-1)
    assert covered_throughout.mean() >= 0.95
    assert np.all(np.diff(high - low, axis=-1) <= 1e-12)  # it only narrows


def test_zero_lies_outside_the_interval_exactly_when_p_is_below_alpha() -> None:
    n = np.arange(1, 31) * 1000
    diff = np.linspace(0.0, 0.12, 30)
    p = msprt_p_values(diff, 2.0 / n, 0.1)
    low, _ = msprt_interval(diff, 2.0 / n, 0.1, alpha=0.05)
    assert np.array_equal(p < 0.05, low > 0)


def test_without_intersection_a_drifting_estimand_stays_covered() -> None:
    """Cumulative per-unit totals grow between looks (outcomes keep arriving): the truth
    at the last look is covered by that look's set, not by the intersection."""
    n = np.arange(1, 41) * 1000
    truth = np.linspace(0.01, 0.4, 40)  # the difference of totals so far, growing
    variance = 2.0 / n
    low, high = msprt_interval(truth, variance, 0.1)
    assert high[-1] < truth[-1]  # intersected: the early looks' small values exclude it
    low, high = msprt_interval(truth, variance, 0.1, intersect=False)
    assert np.all((low <= truth) & (truth <= high))
