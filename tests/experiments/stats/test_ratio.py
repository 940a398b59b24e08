"""Ratio metrics: the delta-method variance matches the ratio's spread across samples."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats.ratio import ratio_estimate, ratio_lift


def _clicks(rng, shape, ctr):
    impressions = rng.poisson(5, shape) + 1
    return rng.binomial(impressions, ctr), impressions


def test_ratio_is_sum_over_sum() -> None:
    ratio, _ = ratio_estimate([1, 0, 3], [2, 2, 4])
    assert ratio == pytest.approx(4 / 8)


def test_delta_variance_matches_the_spread_of_the_ratio() -> None:
    rng = np.random.default_rng(2)
    # clicks vary with a per-unit propensity, so units cluster: the naive binomial
    # variance of clicks/impressions would be too small
    propensity = rng.beta(2, 18, (3000, 1000))
    impressions = rng.poisson(5, (3000, 1000)) + 1
    clicks = rng.binomial(impressions, propensity)
    ratios, variances = ratio_estimate(clicks, impressions)
    assert np.var(ratios) == pytest.approx(np.mean(variances), rel=0.08)


def test_ratio_lift_detects_a_real_change_and_not_a_null_one() -> None:
    rng = np.random.default_rng(3)
    same = ratio_lift(_clicks(rng, 5000, 0.1), _clicks(rng, 5000, 0.1))
    better = ratio_lift(_clicks(rng, 5000, 0.1), _clicks(rng, 5000, 0.12))
    assert same.p_value > 0.01
    assert better.p_value < 1e-6 and better.relative == pytest.approx(0.2, abs=0.05)
