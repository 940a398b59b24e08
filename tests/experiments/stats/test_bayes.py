"""Chance to beat: 1/2 between equals, near 1 for a clear winner, reproducible."""

from __future__ import annotations

import pytest

from experiments.stats.bayes import beta_chance_to_beat, normal_chance_to_beat


def test_equal_arms_are_a_coin_flip() -> None:
    assert beta_chance_to_beat((100, 1000), (100, 1000)) == pytest.approx(0.5, abs=0.02)
    assert normal_chance_to_beat(1.0, 0.1, 1.0, 0.1) == pytest.approx(0.5)


def test_a_clear_winner_is_near_certain_and_seeded() -> None:
    chance = beta_chance_to_beat((100, 1000), (150, 1000), seed=7)
    assert chance > 0.99
    assert chance == beta_chance_to_beat((100, 1000), (150, 1000), seed=7)
    assert beta_chance_to_beat((150, 1000), (100, 1000)) < 0.01


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="treatment:"):
        beta_chance_to_beat((1, 10), (11, 10))


def test_normal_chance_without_uncertainty_is_decided_by_the_estimates() -> None:
    """A short test whose arms have no variance yet (zero standard error) answers
    1, 0 or 1/2 instead of dividing by zero."""
    assert normal_chance_to_beat(1.0, 0.0, 2.0, 0.0) == 1.0
    assert normal_chance_to_beat(2.0, 0.0, 1.0, 0.0) == 0.0
    assert normal_chance_to_beat(1.0, 0.0, 1.0, 0.0) == 0.5
