"""mSPRT: p-values never rise, and a real effect is found early."""

from __future__ import annotations

import numpy as np

from experiments.stats.sequential import msprt_p_values


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
