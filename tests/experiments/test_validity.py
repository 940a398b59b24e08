"""The statistics hold up in simulation (the figures the benchmark reports, smaller).

Thresholds are the issue's: A/A false-positive rate in [0.035, 0.065] at α = 0.05 over
≥ 1,000 tests; a 5% sample-ratio mismatch at 100,000 units flagged in ≥ 99% of runs;
CUPED's variance reduction within 0.05 of ρ²; the sequential test's false-positive rate
under continuous peeking at most α.
"""

from __future__ import annotations

from experiments.validity import (
    aa_false_positive_rate,
    aa_ratio_false_positive_rate,
    cuped_check,
    peeking_check,
    srm_false_alarm_rate,
    srm_power,
)


def test_aa_tests_are_significant_five_percent_of_the_time() -> None:
    assert 0.035 <= aa_false_positive_rate(n_tests=1000, n_per_arm=1000) <= 0.065
    assert 0.035 <= aa_ratio_false_positive_rate(n_tests=1000, n_per_arm=1000) <= 0.065


def test_a_five_percent_sample_ratio_mismatch_is_caught() -> None:
    assert srm_power(n_runs=1000, n_units=100_000, mismatch=0.05) >= 0.99
    assert srm_false_alarm_rate(n_runs=1000) <= 0.005


def test_cuped_removes_rho_squared_of_the_variance() -> None:
    for rho in (0.3, 0.7):
        check = cuped_check(n_tests=400, n_per_arm=1000, rho=rho)
        assert abs(check.estimator_reduction - check.rho2) <= 0.05
        assert abs(check.reported_reduction - check.rho2) <= 0.05


def test_continuous_peeking_keeps_the_sequential_test_within_alpha() -> None:
    check = peeking_check(n_tests=600, looks=40, per_look=150)
    assert check.sequential_fpr <= 0.05
    assert check.naive_fpr > 0.15  # the fixed-horizon test peeked at fails, as it should
