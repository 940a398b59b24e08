"""Sample-ratio mismatch: healthy splits pass, a 5% loss at 100k units is flagged."""

from __future__ import annotations

import pytest

from experiments.stats.srm import srm_test


def test_a_healthy_split_is_not_flagged() -> None:
    result = srm_test([50_120, 49_880], [0.5, 0.5])
    assert not result.flagged and result.p_value > 0.1


def test_a_five_percent_loss_is_flagged() -> None:
    assert srm_test([50_000, 47_500], [0.5, 0.5]).flagged


def test_unequal_weights_are_respected() -> None:
    assert not srm_test([20_000, 80_000], [0.2, 0.8]).flagged
    assert srm_test([50_000, 50_000], [0.2, 0.8]).flagged


def test_counts_and_weights_must_match() -> None:
    with pytest.raises(ValueError, match="weights:"):
        srm_test([1, 2, 3], [0.5, 0.5])
