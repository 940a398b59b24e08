"""CUPED: unbiased, and it removes the share of variance the covariate explains."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats.cuped import cuped, theta


def test_theta_is_the_regression_slope_and_zero_without_variation() -> None:
    x = np.arange(10.0)
    assert theta(3 * x + 1, x) == pytest.approx(3.0)
    assert theta(x, np.ones(10)) == 0.0


def test_cuped_is_unbiased_and_narrower() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 500, 2000))
    y = 0.8 * x + 0.6 * rng.normal(size=(2, 500, 2000))
    y[1] += 0.05
    result = cuped((y[0], x[0]), (y[1], x[1]))
    assert np.mean(result.lift.absolute) == pytest.approx(0.05, abs=0.003)
    assert np.mean(result.variance_reduction) == pytest.approx(0.64, abs=0.02)
    width = result.lift.absolute_ci[1] - result.lift.absolute_ci[0]
    coverage = np.mean((result.lift.absolute_ci[0] < 0.05) & (result.lift.absolute_ci[1] > 0.05))
    assert np.mean(width) < 0.7 * 2 * 1.96 * np.sqrt(2 / 2000)
    assert 0.92 <= coverage <= 0.98
