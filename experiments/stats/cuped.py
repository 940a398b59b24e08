"""CUPED (Deng et al. 2013): remove what a pre-period covariate explains.

y' = y - θ (x - x̄), θ = Cov(y, x) / Var(x) from both arms pooled, so the adjustment is
the same for every arm and the difference stays unbiased. The variance falls by the
share ρ² of y's variance that x explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from experiments.stats.lift import Lift, welch


@dataclass(frozen=True)
class Cuped:
    """A CUPED comparison: the lift on adjusted values, θ and the variance reduction."""

    lift: Lift
    theta: Any
    variance_reduction: Any


def theta(y: ArrayLike, x: ArrayLike) -> Any:
    """Regression slope of y on x (last axis = units); 0 where x does not vary."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    var_x = (xc**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var_x > 0, (xc * yc).sum(axis=-1) / var_x, 0.0)


def cuped(
    control: tuple[ArrayLike, ArrayLike],
    treatment: tuple[ArrayLike, ArrayLike],
    alpha: float = 0.05,
) -> Cuped:
    """Welch lift on CUPED-adjusted values; each arm is (outcome y, pre-period x).

    Args:
        control: Per-unit (y, x) of the control arm.
        treatment: Per-unit (y, x) of the treatment arm.
        alpha: Two-sided level.
    """
    y_c, x_c = (np.asarray(a, float) for a in control)
    y_t, x_t = (np.asarray(a, float) for a in treatment)
    y, x = np.concatenate([y_c, y_t], axis=-1), np.concatenate([x_c, x_t], axis=-1)
    slope = theta(y, x)
    centre = x.mean(axis=-1, keepdims=True)
    s = np.asarray(slope)[..., None]
    adj_c, adj_t = y_c - s * (x_c - centre), y_t - s * (x_t - centre)
    pooled = np.concatenate([adj_c, adj_t], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = 1.0 - pooled.var(axis=-1) / y.var(axis=-1)
    return Cuped(welch(adj_c, adj_t, alpha), slope, reduction)
