"""Sample size and duration: units needed to detect a relative effect, and days to get them.

Two-sided z-test on a difference of means (normal approximation):
n_total = (z₁₋α/₂ + z_power)² (σ_c²/w_c + σ_t²/w_t) / δ², with δ = baseline × MDE and
w the arms' shares of traffic; a rate has σ² = p(1 - p) in each arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class SampleSize:
    """Units needed per variant, in total, and the days it takes (if daily units given)."""

    per_variant: list[int]
    total: int
    days: int | None


def _check(baseline: float, mde: float, alpha: float, power: float, sd: float | None) -> None:
    if sd is None and not 0 < baseline < 1:
        raise ValueError(f"baseline: a rate must be within (0, 1), got {baseline} (or pass sd)")
    if sd is not None and sd <= 0:
        raise ValueError(f"sd: must be > 0, got {sd}")
    if mde == 0 or (sd is None and not 0 < baseline * (1 + mde) < 1):
        raise ValueError(f"mde: relative effect {mde} must be non-zero and keep the rate in (0, 1)")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must be within (0, 1), got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power: must be within (0, 1), got {power}")


def sample_size(
    baseline: float,
    mde: float,
    *,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    weights: list[float] | None = None,
    daily_units: float | None = None,
) -> SampleSize:
    """Units per variant to detect a relative change ``mde`` of ``baseline``.

    Args:
        baseline: Control rate (conversion-type) or mean (with ``sd``).
        mde: Minimum detectable effect, relative (0.05 = +5%).
        sd: Per-unit standard deviation for a continuous metric; ``None`` for a rate.
        alpha: Two-sided significance level.
        power: Probability of detecting the effect when it is there.
        weights: Traffic shares, control first (default: equal, two arms); every
            treatment is compared with the control and the largest need wins.
        daily_units: New units entering the experiment per day (for the duration).

    Raises:
        ValueError: An argument is out of range (the message names it).
    """
    _check(baseline, mde, alpha, power, sd)
    weights = weights or [0.5, 0.5]
    if len(weights) < 2 or any(w <= 0 for w in weights) or abs(sum(weights) - 1) > 1e-6:
        raise ValueError(f"weights: need >= 2 positive shares summing to 1, got {weights}")
    if daily_units is not None and daily_units <= 0:
        raise ValueError(f"daily_units: must be > 0, got {daily_units}")
    treated = baseline * (1 + mde)
    var_c, var_t = (
        (sd**2, sd**2) if sd is not None else (baseline * (1 - baseline), treated * (1 - treated))
    )
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    delta = baseline * mde
    total = max(z**2 * (var_c / weights[0] + var_t / w) / delta**2 for w in weights[1:])
    per_variant = [math.ceil(total * w) for w in weights]
    days = math.ceil(sum(per_variant) / daily_units) if daily_units else None
    return SampleSize(per_variant, sum(per_variant), days)
