"""Difference between two arms: absolute and relative lift with confidence intervals.

Plain means use Welch's t-test (``scipy.stats.ttest_ind``, unequal variances); ratio and
CUPED-adjusted estimates come as (estimate, variance) pairs and use the normal
approximation. The relative lift's interval uses the delta method:
Var(t/c) ≈ Var(t)/c² + t² Var(c)/c⁴ for independent arms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


@dataclass(frozen=True)
class Lift:
    """Treatment against control (floats, or arrays for many experiments at once).

    Attributes:
        control: Control estimate.
        treatment: Treatment estimate.
        absolute: treatment - control, with ``absolute_ci`` (low, high).
        relative: treatment / control - 1, with ``relative_ci`` (delta method).
        p_value: Two-sided p-value of no difference.
    """

    control: Any
    treatment: Any
    absolute: Any
    absolute_ci: tuple[Any, Any]
    relative: Any
    relative_ci: tuple[Any, Any]
    p_value: Any

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready floats, ``None`` where undefined (scalar lifts only)."""
        return {
            "control": _number(self.control),
            "treatment": _number(self.treatment),
            "absolute": _number(self.absolute),
            "absolute_ci": [_number(self.absolute_ci[0]), _number(self.absolute_ci[1])],
            "relative": _number(self.relative),
            "relative_ci": [_number(self.relative_ci[0]), _number(self.relative_ci[1])],
            "p_value": _number(self.p_value),
        }


def _number(value: Any) -> float | None:
    """A float, or ``None`` for NaN and infinities (JSON has neither)."""
    value = float(value)
    return value if np.isfinite(value) else None


def relative_interval(
    control: ArrayLike,
    var_control: ArrayLike,
    treatment: ArrayLike,
    var_treatment: ArrayLike,
    alpha: float,
) -> tuple[Any, Any, Any]:
    """Relative lift treatment/control - 1 and its delta-method interval.

    Args:
        control: Control estimate; ``var_control`` the variance of that estimate.
        treatment: Treatment estimate; ``var_treatment`` its variance.
        alpha: Two-sided level.

    Returns:
        (relative lift, low, high); NaN where the control estimate is 0.
    """
    c, t = np.asarray(control, float), np.asarray(treatment, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = t / c - 1.0
        se = np.sqrt(np.asarray(var_treatment) / c**2 + t**2 * np.asarray(var_control) / c**4)
    z = stats.norm.ppf(1 - alpha / 2)
    return relative, relative - z * se, relative + z * se


def welch(control: ArrayLike, treatment: ArrayLike, alpha: float = 0.05) -> Lift:
    """Lift of per-unit means by Welch's t-test (last axis = units).

    Args:
        control: Per-unit values of the control arm.
        treatment: Per-unit values of the treatment arm.
        alpha: Two-sided level of the intervals.
    """
    c, t = np.asarray(control, float), np.asarray(treatment, float)
    test = stats.ttest_ind(t, c, equal_var=False, axis=-1)
    interval = test.confidence_interval(1 - alpha)
    mean_c, mean_t = c.mean(axis=-1), t.mean(axis=-1)
    var_c = c.var(axis=-1, ddof=1) / c.shape[-1]
    var_t = t.var(axis=-1, ddof=1) / t.shape[-1]
    relative, low, high = relative_interval(mean_c, var_c, mean_t, var_t, alpha)
    return Lift(
        mean_c,
        mean_t,
        mean_t - mean_c,
        (interval.low, interval.high),
        relative,
        (low, high),
        test.pvalue,
    )


def from_estimates(
    control: ArrayLike,
    var_control: ArrayLike,
    treatment: ArrayLike,
    var_treatment: ArrayLike,
    alpha: float = 0.05,
) -> Lift:
    """Lift of two independent estimates with known variances (normal approximation).

    Args:
        control: Control estimate; ``var_control`` the variance of that estimate.
        treatment: Treatment estimate; ``var_treatment`` its variance.
        alpha: Two-sided level.
    """
    c, t = np.asarray(control, float), np.asarray(treatment, float)
    diff = t - c
    se = np.sqrt(np.asarray(var_control) + np.asarray(var_treatment))
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stats.norm.sf(np.abs(diff / se))
    relative, low, high = relative_interval(c, var_control, t, var_treatment, alpha)
    return Lift(c, t, diff, (diff - z * se, diff + z * se), relative, (low, high), p_value)
