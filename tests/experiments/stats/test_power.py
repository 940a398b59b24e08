"""Sample size: the textbook figure, and simulated experiments of that size reach 80% power."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats.lift import from_estimates
from experiments.stats.power import sample_size


def test_textbook_figure_for_a_5_percent_baseline() -> None:
    # 5% -> 5.25% at alpha 0.05, power 0.8: about 122k per arm (e.g. Evan Miller's calculator)
    result = sample_size(0.05, 0.05)
    assert result.per_variant[0] == pytest.approx(122_000, rel=0.01)
    assert result.days is None


def test_experiments_of_that_size_have_the_promised_power() -> None:
    size = sample_size(0.2, 0.1, power=0.8)
    n = size.per_variant[0]
    rng = np.random.default_rng(6)
    c = rng.binomial(n, 0.2, 4000) / n
    t = rng.binomial(n, 0.22, 4000) / n
    lift = from_estimates(c, c * (1 - c) / n, t, t * (1 - t) / n)
    assert np.mean(lift.p_value < 0.05) == pytest.approx(0.8, abs=0.025)


def test_unequal_weights_need_more_units_and_duration_rounds_up() -> None:
    even = sample_size(0.1, 0.05)
    skewed = sample_size(0.1, 0.05, weights=[0.9, 0.1], daily_units=1000)
    assert skewed.total > even.total
    assert skewed.per_variant[0] > skewed.per_variant[1]
    assert skewed.days == -(-skewed.total // 1000)


def test_continuous_metrics_use_the_sd() -> None:
    assert sample_size(50.0, 0.02, sd=100.0).per_variant[0] == pytest.approx(
        2 * (1.959964 + 0.841621) ** 2 * 100**2 / 1.0**2, rel=0.001
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"baseline": 1.2, "mde": 0.1}, "baseline"),
        ({"baseline": 0.1, "mde": 0.0}, "mde"),
        ({"baseline": 0.1, "mde": 0.1, "alpha": 1.5}, "alpha"),
        ({"baseline": 0.1, "mde": 0.1, "power": 0}, "power"),
        ({"baseline": 0.1, "mde": 0.1, "weights": [0.5, 0.6]}, "weights"),
        ({"baseline": 0.1, "mde": 0.1, "daily_units": -5}, "daily_units"),
        ({"baseline": 10.0, "mde": 0.1, "sd": -1.0}, "sd"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        sample_size(**kwargs)
