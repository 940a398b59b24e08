"""Guardrails: what a treatment must not break, judged relative to the control or
against an absolute budget.

A guardrail metric without a budget is breached when its whole interval against the
control lies on the harmful side (:func:`experiments.metrics.harmful`). A latency
guardrail with a budget (``guardrail_budgets.latency_p99_ms: 50``) is judged against
the budget alone: breached when a treatment's quantile over its exposures exceeds the
limit, whatever the control's latency (a re-ranker at 9 ms against a popularity list at
0.8 ms is a +1,000% change, well within a 50 ms budget).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from experiments.config import Experiment
from experiments.metrics import finite

BUDGETED_METRIC = "latency_ms"
"""The metric whose relative judgement a latency budget replaces."""


def quantile(values: np.ndarray, q: float) -> float:
    """The ``q``-quantile of ``values``: the sample quantile by linear interpolation
    between order statistics (Hyndman & Fan 1996, definition 7; NumPy's default):
    with x₍₁₎ ≤ … ≤ x₍ₙ₎ and h = (n − 1)q, Q(q) = x₍⌊h⌋+1₎ + (h − ⌊h⌋)(x₍⌊h⌋+2₎ − x₍⌊h⌋+1₎).

    Returns:
        The quantile, NaN for no values.
    """
    return float(np.quantile(values, q)) if values.size else float("nan")


def budget_section(
    experiment: Experiment, latencies: pl.DataFrame | None
) -> dict[str, dict[str, Any]]:
    """Every configured latency budget: each arm's quantile over its exposures against
    the limit, and the treatments that exceed it.

    Args:
        experiment: The definition (variants, control, ``guardrail_budgets``).
        latencies: One row per exposure: ``variant`` and ``latency_ms``.

    Returns:
        Budget name → ``quantile``, ``limit_ms``, ``per_variant`` (``value`` in ms and
        ``exposures``) and ``breached_by`` (treatments over the limit).
    """
    section = {}
    for name, (q, limit) in experiment.guardrail_budgets.limits().items():
        per_variant = {}
        for variant in experiment.variant_names():
            values = (
                latencies.filter(pl.col("variant") == variant)["latency_ms"].to_numpy()
                if latencies is not None
                else np.empty(0)
            )
            per_variant[variant] = {"value": finite(quantile(values, q)), "exposures": values.size}
        breached = [
            t
            for t in experiment.treatments()
            if per_variant[t]["value"] is not None and per_variant[t]["value"] > limit
        ]
        section[name] = {
            "quantile": q,
            "limit_ms": limit,
            "per_variant": per_variant,
            "breached_by": breached,
        }
    return section


def breaches(
    experiment: Experiment, metrics: dict[str, Any], budgets: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every guardrail a treatment breaks, with how it was judged and a sentence.

    Args:
        experiment: The definition.
        metrics: The report's metric sections (with ``role`` and ``comparisons``).
        budgets: :func:`budget_section`'s answer.

    Returns:
        One dict per breach: ``guardrail``, ``treatment``, ``judged_by`` (``budget`` or
        ``relative``) and ``text``.
    """
    found = []
    for name, budget in budgets.items():
        for treatment in budget["breached_by"]:
            value = budget["per_variant"][treatment]["value"]
            text = f"{name} {value:.3g} ms over the budget of {budget['limit_ms']:g} ms"
            found.append(_breach(name, treatment, "budget", text))
    for name, metric in metrics.items():
        if metric["role"] != "guardrail" or (name == BUDGETED_METRIC and budgets):
            continue
        for treatment, c in metric["comparisons"].items():
            if c["harmful"]:
                low, high = c["relative_ci"]
                text = f"{name} {_pct(c['relative'])} [{_pct(low)}, {_pct(high)}] vs control"
                found.append(_breach(name, treatment, "relative", text))
    return found


def _breach(guardrail: str, treatment: str, judged_by: str, text: str) -> dict[str, Any]:
    return {"guardrail": guardrail, "treatment": treatment, "judged_by": judged_by, "text": text}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2%}"
