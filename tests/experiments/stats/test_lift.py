"""Lifts: Welch agrees with SciPy, and the intervals cover the truth at their level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments.stats.lift import from_estimates, welch


def test_welch_matches_scipy_and_the_means() -> None:
    rng = np.random.default_rng(0)
    c, t = rng.normal(10, 2, 300), rng.normal(10.5, 3, 500)
    lift = welch(c, t)
    assert lift.p_value == pytest.approx(stats.ttest_ind(t, c, equal_var=False).pvalue)
    assert lift.absolute == pytest.approx(t.mean() - c.mean())
    assert lift.relative == pytest.approx(t.mean() / c.mean() - 1)
    assert lift.absolute_ci[0] < lift.absolute < lift.absolute_ci[1]


def test_intervals_cover_the_true_lift_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    c = rng.exponential(10.0, (2000, 800))
    t = rng.exponential(11.0, (2000, 800))  # true absolute lift 1, relative 10%
    lift = welch(c, t)
    absolute = np.mean((lift.absolute_ci[0] < 1.0) & (lift.absolute_ci[1] > 1.0))
    relative = np.mean((lift.relative_ci[0] < 0.1) & (lift.relative_ci[1] > 0.1))
    assert 0.935 <= absolute <= 0.965
    assert 0.935 <= relative <= 0.965


def test_from_estimates_is_a_z_test() -> None:
    lift = from_estimates(1.0, 0.01, 1.2, 0.01)
    z = 0.2 / np.sqrt(0.02)
    assert lift.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert lift.absolute_ci[1] - lift.absolute_ci[0] == pytest.approx(
        2 * 1.959964 * np.sqrt(0.02), rel=1e-5
    )


def test_a_zero_control_gives_no_relative_lift_instead_of_a_crash() -> None:
    lift = from_estimates(0.0, 0.0, 1.0, 0.1)
    assert lift.as_dict()["relative"] is None
