"""An experiment's report: per-variant metrics, lifts with intervals, CUPED, SRM,
always-valid sequential p-values, chance to beat, guardrails (relative or against a
latency budget), the planned sample, a timeline, segments and the verdict.

:func:`analyse` turns attributed data into a JSON-ready dict; :func:`build_report`
reads it from the store first; :func:`write_report` writes ``report.json`` and
``report.html`` (see :mod:`experiments.report_html`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from experiments.attribution import Attributed
from experiments.config import Experiment, ExperimentsSettings
from experiments.guardrails import BUDGETED_METRIC, breaches, budget_section
from experiments.metrics import (
    METRICS,
    available,
    chance_to_beat,
    cuped_lift,
    estimate,
    finite,
    harmful,
    lift,
)
from experiments.stats.lift import from_estimates
from experiments.stats.sequential import msprt_interval, msprt_p_values
from experiments.stats.srm import srm_test
from experiments.store import ExperimentStore
from experiments.verdict import decide

Advance = Callable[[int], None]


def _arms(experiment: Experiment, units: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {name: units.filter(pl.col("variant") == name) for name in experiment.variant_names()}


def srm_section(
    experiment: Experiment, units: pl.DataFrame, settings: ExperimentsSettings
) -> dict[str, Any]:
    """Units per variant against the configured weights (χ² test)."""
    counts = [units.filter(pl.col("variant") == v.name).height for v in experiment.variants]
    section: dict[str, Any] = {
        "units": dict(zip(experiment.variant_names(), counts, strict=True)),
        "expected_shares": {v.name: v.weight for v in experiment.variants},
        "threshold": settings.srm_p_threshold,
    }
    if sum(counts) == 0:
        return {**section, "p_value": None, "flagged": False}
    result = srm_test(counts, [v.weight for v in experiment.variants], settings.srm_p_threshold)
    return {
        **section,
        "statistic": float(result.statistic),
        "p_value": float(result.p_value),
        "flagged": bool(result.flagged),
    }


def _comparison(
    name: str, control: pl.DataFrame, treatment: pl.DataFrame, settings: ExperimentsSettings
) -> dict[str, Any]:
    spec = METRICS[name]
    result = lift(spec, control, treatment, settings.alpha)
    return {
        **result.as_dict(),
        "chance_to_beat": finite(chance_to_beat(spec, control, treatment, settings)),
        "harmful": harmful(spec, result),
        "cuped": cuped_lift(spec, control, treatment, settings.alpha),
    }


def metric_section(
    experiment: Experiment, units: pl.DataFrame, name: str, settings: ExperimentsSettings
) -> dict[str, Any]:
    """One metric: value per variant and each treatment against the control."""
    spec = METRICS[name]
    arms = _arms(experiment, units)
    per_variant = {}
    for variant, arm in arms.items():
        value, var, n = estimate(spec, arm)
        per_variant[variant] = {"value": finite(value), "se": finite(np.sqrt(var)), "units": n}
    control = arms[experiment.control or experiment.variant_names()[0]]
    comparisons = {
        t: _comparison(name, control, arms[t], settings)
        for t in experiment.treatments()
        if arms[t].height > 1 and control.height > 1
    }
    return {
        "kind": spec.kind,
        "higher_is_better": spec.higher_is_better,
        "per_variant": per_variant,
        "comparisons": comparisons,
    }


def _look(
    experiment: Experiment, units: pl.DataFrame, name: str, settings: ExperimentsSettings
) -> dict[str, dict[str, float]]:
    """Cumulative lift of one metric at one look, per treatment, for the timeline."""
    spec = METRICS[name]
    arms = _arms(experiment, units)
    c, v_c, n_c = estimate(spec, arms[experiment.control or ""])
    looks = {}
    for treatment in experiment.treatments():
        t, v_t, n_t = estimate(spec, arms[treatment])
        result = from_estimates(c, v_c, t, v_t, settings.alpha)
        looks[treatment] = {
            "absolute": float(result.absolute),
            "control": c,
            "variance": v_c + v_t,
            "per_unit_var": (v_c * n_c + v_t * n_t) / 2,
            "relative": float(result.relative),
            "relative_low": float(result.relative_ci[0]),
            "relative_high": float(result.relative_ci[1]),
        }
    return looks


LOOK_WIDTHS: tuple[tuple[str, dt.timedelta], ...] = (
    ("1s", dt.timedelta(seconds=1)),
    ("10s", dt.timedelta(seconds=10)),
    ("1m", dt.timedelta(minutes=1)),
    ("5m", dt.timedelta(minutes=5)),
    ("15m", dt.timedelta(minutes=15)),
    ("1h", dt.timedelta(hours=1)),
    ("1d", dt.timedelta(days=1)),
)
"""The timeline's look periods, finest first (polars duration string, length)."""
MAX_LOOKS = 48
"""The finest period that cuts the test's span into at most this many looks is used
(a test of up to two days is looked at by the hour, a longer one by the day)."""


def _floor(moment: dt.datetime, width: dt.timedelta) -> dt.datetime:
    """``moment`` rounded down to a multiple of ``width`` since the epoch (UTC)."""
    seconds = width.total_seconds()
    return dt.datetime.fromtimestamp(moment.timestamp() // seconds * seconds, dt.UTC)


def look_width(first: dt.datetime, last: dt.datetime) -> tuple[str, dt.timedelta]:
    """The look period of a test whose activity spans ``first`` … ``last``: seconds for
    a test of seconds, minutes for a test of minutes, hours for a one-day test, days for
    a longer one."""
    for every, width in LOOK_WIDTHS:
        if _floor(last, width) - _floor(first, width) < MAX_LOOKS * width:
            return every, width
    return LOOK_WIDTHS[-1]


def _periods(attributed: Attributed) -> tuple[list[dt.datetime], dt.timedelta]:
    """The starts of the look periods with activity, and the period's length."""
    span = attributed.span()
    if span is None or attributed.fine is None:  # no per-second data: daily looks
        days = [dt.datetime.combine(d, dt.time(), dt.UTC) for d in attributed.days()]
        return days, dt.timedelta(days=1)
    every, width = look_width(*span)
    starts = attributed.fine["at"].dt.truncate(every).unique().sort().to_list()
    return starts, width


def timeline(
    experiment: Experiment,
    attributed: Attributed,
    settings: ExperimentsSettings,
    advance: Advance | None = None,
) -> dict[str, Any]:
    """Look by look (periods of seconds, minutes, hours or days, as the test's span asks, see
    :func:`look_width`): the primary metric of the units first exposed in that period (a
    cohort, per variant), the cumulative lift with its interval at the period's end, and
    the always-valid (mSPRT) p-value of every look so far.

    Returns:
        ``metric``, ``period_seconds``, ``span`` ([start of the first period, end of the
        last], ISO), ``looks`` (``start``, ``end``, ``cohort``, ``cumulative``) and
        ``sequential`` (per treatment).
    """
    name = experiment.primary_metric
    everyone = attributed.units()
    starts, width = _periods(attributed)
    rows = []
    for start in starts:
        end = start + width
        cohort = everyone.filter(pl.col("first_exposure") >= start, pl.col("first_exposure") < end)
        values = {
            v: finite(estimate(METRICS[name], arm)[0]) if arm.height else None
            for v, arm in _arms(experiment, cohort).items()
        }
        rows.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "cohort": values,
                "cumulative": _look(experiment, attributed.units(until=end), name, settings),
            }
        )
        if advance:
            advance(1)
    sequential = {t: _always_valid(t, rows, settings) for t in experiment.treatments() if rows}
    for row in rows:
        for look in row["cumulative"].values():
            for key in ("absolute", "relative", "relative_low", "relative_high"):
                look[key] = finite(look[key])
            for key in ("variance", "per_unit_var", "control"):
                look.pop(key)
    span = [rows[0]["start"], rows[-1]["end"]] if rows else None
    return {
        "metric": name,
        "period_seconds": int(width.total_seconds()),
        "span": span,
        "looks": rows,
        "sequential": sequential,
    }


def _always_valid(
    treatment: str, rows: list[dict[str, Any]], settings: ExperimentsSettings
) -> dict[str, Any]:
    """mSPRT over the looks of one treatment: the always-valid p-value, and the
    confidence sequence, absolute and (dividing by the control's estimate, taken as
    known) relative, written into each look as ``always_valid_low`` / ``_high``. The
    interval is each look's own, not intersected over looks: a look's difference of
    cumulative per-unit totals grows while outcomes arrive, so the estimand drifts."""
    looks = [row["cumulative"][treatment] for row in rows]
    diff = np.array([k["absolute"] for k in looks], dtype=float)
    var = np.array([k["variance"] for k in looks], dtype=float)
    tau = settings.sequential_tau * np.sqrt(np.array([k["per_unit_var"] for k in looks]))
    usable = np.isfinite(var) & (var > 0) & (tau > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff, var, tau = (
            np.where(usable, diff, 0.0),
            np.where(usable, var, 1.0),
            np.where(usable, tau, 1.0),
        )
        p = np.where(usable, msprt_p_values(diff, var, tau), 1.0)
        p = np.minimum.accumulate(p)
        low, high = msprt_interval(  # per-unit totals grow between looks: no intersection
            np.where(usable, diff, np.nan), var, tau, settings.alpha, intersect=False
        )
        for look, lo, hi in zip(looks, low, high, strict=True):
            control = look["control"]
            look["always_valid_low"] = finite(lo / control) if control else None
            look["always_valid_high"] = finite(hi / control) if control else None
    return {
        "p_value": float(p[-1]),
        "interval": [finite(low[-1]), finite(high[-1])],
        "looks": int(usable.sum()),
    }


def segment_section(
    experiment: Experiment, units: pl.DataFrame, settings: ExperimentsSettings
) -> list[dict[str, Any]]:
    """The primary metric per segment (where the exposures carried one)."""
    rows = []
    segments = sorted(s for s in units["segment"].unique().to_list() if s is not None)
    for segment in segments:
        part = units.filter(pl.col("segment") == segment)
        section = metric_section(experiment, part, experiment.primary_metric, settings)
        rows.append({"segment": segment, **section})
    return rows


def design_section(
    experiment: Experiment, srm: dict[str, Any], settings: ExperimentsSettings
) -> dict[str, Any] | None:
    """The planned sample against the units so far (``None`` without a ``design``).

    Returns:
        ``planned_units`` and ``units`` per variant, ``progress`` (the least advanced
        arm's share of its plan) and ``reached`` (every arm at its plan).
    """
    planned = experiment.planned_units(settings.alpha)
    if planned is None:
        return None
    units = srm["units"]
    progress = min(units[v] / n for v, n in planned.items())
    return {
        "planned_units": planned,
        "units": units,
        "progress": progress,
        "reached": progress >= 1.0,
    }


def _roles(experiment: Experiment) -> dict[str, str]:
    """Metric → primary, guardrail (listed, or latency under a budget) or secondary."""
    roles = {experiment.primary_metric: "primary"}
    guardrails = list(experiment.guardrail_metrics)
    if experiment.guardrail_budgets.limits():
        guardrails.append(BUDGETED_METRIC)
    roles |= {m: "guardrail" for m in guardrails if m not in roles}
    return roles | {m: "secondary" for m in METRICS if m not in roles}


def analyse(
    experiment: Experiment,
    attributed: Attributed,
    settings: ExperimentsSettings,
    advance: Advance | None = None,
) -> dict[str, Any]:
    """The whole report of one experiment as a JSON-ready dict, its ``verdict``
    (:func:`experiments.verdict.decide`) included."""
    units = attributed.units()
    metrics = {
        name: {"role": role, **metric_section(experiment, units, name, settings)}
        for name, role in _roles(experiment).items()
        if available(name, units) or (role == "primary" and units.height)
    }
    budgets = budget_section(experiment, attributed.latencies)
    if budgets and BUDGETED_METRIC in metrics:
        metrics[BUDGETED_METRIC]["judged_by_budgets"] = sorted(budgets)
    found = breaches(experiment, metrics, budgets)
    srm = srm_section(experiment, units, settings)
    report = {
        "experiment": json.loads(experiment.model_dump_json()),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "alpha": settings.alpha,
        "units": units.height,
        "exposures": int(attributed.daily["exposures"].sum()),
        "mixed_units": attributed.mixed_units,
        "srm": srm,
        "design": design_section(experiment, srm, settings),
        "metrics": metrics,
        "guardrail_budgets": budgets,
        "guardrail_breaches": found,
        "guardrails_breached": sorted({b["guardrail"] for b in found}),
        "timeline": timeline(experiment, attributed, settings, advance) if units.height else None,
        "segments": segment_section(experiment, units, settings),
    }
    return report | {"verdict": decide(report).as_dict()}


def build_report(
    store: ExperimentStore,
    name: str,
    settings: ExperimentsSettings | None = None,
    advance: Advance | None = None,
) -> dict[str, Any]:
    """Read one experiment's logs from the store, attribute them and analyse them.

    Raises:
        ValueError: No experiment of that name.
    """
    settings = settings or ExperimentsSettings()
    stored = store.get(name)
    report = analyse(stored.experiment, store.attributed(name), settings, advance)
    report["status"] = stored.status
    report["created_at"] = stored.created_at.isoformat()
    report["stopped_at"] = stored.stopped_at.isoformat() if stored.stopped_at else None
    return report


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir``; returns both paths."""
    from experiments.report_html import render

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False))
    html_path.write_text(render(report))
    return json_path, html_path
