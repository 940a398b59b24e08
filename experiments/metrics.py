"""The metrics an experiment is judged on, computed from per-unit totals.

``mean`` and ``binary`` metrics average a per-unit value (binary: 0/1); ``ratio`` metrics
divide per-unit sums (delta method, since units, not impressions, are independent).
"Per unit" means per randomisation unit: per shopper (visitor) in shopper experiments,
per item in item experiments. Latency and error rate are guardrails where the service
logs them with its exposures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from experiments.config import ExperimentsSettings, MetricName
from experiments.stats.bayes import beta_chance_to_beat, normal_chance_to_beat
from experiments.stats.cuped import cuped
from experiments.stats.lift import Lift, from_estimates, welch
from experiments.stats.ratio import ratio_estimate


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is computed from the per-unit frame.

    Attributes:
        kind: ``mean``, ``binary`` or ``ratio``.
        column: Per-unit value (numerator for ratios).
        denominator: Per-unit denominator of a ratio.
        covariate: Pre-period column for CUPED (means and rates only).
        higher_is_better: Direction of a good change (guardrails: which way is harm).
        requires: A column whose total must be > 0 for the metric to exist.
    """

    kind: Literal["mean", "binary", "ratio"]
    column: str
    denominator: str | None = None
    covariate: str | None = None
    higher_is_better: bool = True
    requires: str | None = None


METRICS: dict[str, MetricSpec] = {
    "click_through": MetricSpec("ratio", "clicks", "exposures", requires="clicks"),
    "add_to_cart_rate": MetricSpec(
        "binary", "added", covariate="pre_added", requires="add_to_carts"
    ),
    "conversion": MetricSpec("binary", "converted", covariate="pre_converted"),
    "revenue_per_unit": MetricSpec("mean", "revenue", covariate="pre_revenue"),
    "average_order_value": MetricSpec("ratio", "revenue", "purchases", requires="purchases"),
    "profit_per_unit": MetricSpec(
        "mean", "profit", covariate="pre_profit", requires="profit_known"
    ),
    "latency_ms": MetricSpec(
        "ratio", "latency_sum", "latency_n", higher_is_better=False, requires="latency_n"
    ),
    "error_rate": MetricSpec(
        "ratio", "errors", "errors_known", higher_is_better=False, requires="errors_known"
    ),
}


def available(name: MetricName | str, units: pl.DataFrame) -> bool:
    """Whether the data can measure a metric (e.g. profit needs logged profits)."""
    spec = METRICS[name]
    return units.height > 0 and (spec.requires is None or units[spec.requires].sum() > 0)


def estimate(spec: MetricSpec, arm: pl.DataFrame) -> tuple[float, float, int]:
    """One arm's estimate, the variance of that estimate, and its units."""
    n = arm.height
    if n == 0:
        return float("nan"), float("nan"), 0
    if spec.kind == "ratio":
        value, var = ratio_estimate(arm[spec.column].to_numpy(), arm[spec.denominator].to_numpy())
        return float(value), float(var), n
    values = arm[spec.column].to_numpy()
    var = float(values.var(ddof=1) / n) if n > 1 else float("nan")
    return float(values.mean()), var, n


def lift(spec: MetricSpec, control: pl.DataFrame, treatment: pl.DataFrame, alpha: float) -> Lift:
    """Treatment against control: Welch for means and rates, delta method for ratios."""
    if spec.kind == "ratio":
        return from_estimates(*estimate(spec, control)[:2], *estimate(spec, treatment)[:2], alpha)
    return welch(control[spec.column].to_numpy(), treatment[spec.column].to_numpy(), alpha)


def chance_to_beat(
    spec: MetricSpec, control: pl.DataFrame, treatment: pl.DataFrame, settings: ExperimentsSettings
) -> float:
    """P(treatment better than control): Beta posteriors for rates, normal otherwise
    (for lower-is-better metrics, "better" means lower)."""
    if spec.kind == "binary":
        chance = beta_chance_to_beat(
            (int(control[spec.column].sum()), control.height),
            (int(treatment[spec.column].sum()), treatment.height),
            settings.bayes_draws,
            settings.seed,
        )
    else:
        c, v_c, _ = estimate(spec, control)
        t, v_t, _ = estimate(spec, treatment)
        chance = float(normal_chance_to_beat(c, v_c, t, v_t))
    return chance if spec.higher_is_better else 1.0 - chance


def cuped_lift(
    spec: MetricSpec, control: pl.DataFrame, treatment: pl.DataFrame, alpha: float
) -> dict[str, Any] | None:
    """The CUPED-adjusted lift, or ``None`` when the metric has no pre-period covariate
    or the covariate does not vary."""
    if spec.covariate is None:
        return None
    both = pl.concat([control, treatment])
    if both[spec.covariate].var() in (None, 0.0):
        return None
    result = cuped(
        (control[spec.column].to_numpy(), control[spec.covariate].to_numpy()),
        (treatment[spec.column].to_numpy(), treatment[spec.covariate].to_numpy()),
        alpha,
    )
    return {
        "lift": result.lift.as_dict(),
        "theta": float(result.theta),
        "variance_reduction": float(result.variance_reduction),
    }


def harmful(spec: MetricSpec, result: Lift) -> bool:
    """A guardrail is breached when the whole interval lies on the harmful side."""
    low, high = (float(b) for b in result.absolute_ci)
    return bool(high < 0) if spec.higher_is_better else bool(low > 0)


def finite(value: float) -> float | None:
    """JSON-safe: NaN and infinities become ``None``."""
    return float(value) if np.isfinite(value) else None
