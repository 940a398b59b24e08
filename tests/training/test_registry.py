"""The quality gate's rules: bounds in the metric's direction, and what NaN means."""

from __future__ import annotations

import math

import pytest

from training.registry import Rule


def test_not_worse_follows_the_metrics_direction() -> None:
    higher = Rule("ndcg@10", "not_worse", 0.01)
    assert higher.judge(0.20, 0.195).passed
    failed = higher.judge(0.20, 0.18)
    assert not failed.passed and failed.bound == pytest.approx(0.19)
    assert failed.rule == "≥ champion − 0.01"
    lower = Rule("wape", "not_worse", 0.01, lower_is_better=True)
    assert lower.judge(0.30, 0.305).passed and not lower.judge(0.30, 0.32).passed


def test_limits_and_ratios_bound_the_challenger() -> None:
    assert Rule("bias", "at_most", 0.2, True).judge(0.9, 0.1).passed
    assert not Rule("bias", "at_most", 0.2, True).judge(0.0, 0.25).passed
    # a champion above the limit: the challenger may not be worse than it
    above = Rule("share_implausible", "at_most", 0.3, True)
    assert above.judge(0.39, 0.35).passed and not above.judge(0.39, 0.40).passed
    width = Rule("median_interval_width", "ratio", 0.25, True)
    assert width.judge(2.0, 2.5).passed and not width.judge(2.0, 2.6).passed


def test_nan_passes_only_when_neither_version_has_a_value() -> None:
    rule = Rule("new_items.recall@20", "not_worse", 0.01, label="new items")
    assert rule.judge(math.nan, math.nan).passed
    assert not rule.judge(0.1, math.nan).passed
    assert rule.judge(math.nan, 0.1).passed, "nothing to be worse than"
    assert rule.judge(0.1, 0.1).name == "new items"
