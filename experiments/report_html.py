"""The report as one self-contained HTML page (figures embedded as base64 PNG).

Rendered from the JSON report alone, so the page and ``report.json`` always agree.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from storefront.plots import plt, png_img

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.flag { background: #fdd; padding: 0.5em 1em; border-left: 4px solid #c00; }
.ok { background: #dfd; padding: 0.5em 1em; border-left: 4px solid #080; }
.wait { background: #ffd; padding: 0.5em 1em; border-left: 4px solid #a80; }
.verdict { font-size: 1.2em; }
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.2f}%"


def _interval(bounds: list[float | None]) -> str:
    return f"[{_pct(bounds[0])}, {_pct(bounds[1])}]"


PERIODS = {
    1: "second",
    10: "10 seconds",
    60: "minute",
    300: "5 minutes",
    900: "15 minutes",
    3600: "hour",
}
"""The timeline's period lengths (seconds) in words; anything else reads as "day"."""


def _when(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def lift_chart(timeline: dict[str, Any]) -> dict[str, Any]:
    """What the cumulative-lift chart draws: the looks' ends on the x axis, per
    treatment the relative lift, its interval at that look and the always-valid
    interval, and the x range (the test's span: first period's start to last's end)."""
    looks = timeline["looks"]
    series = {}
    for treatment in timeline["sequential"]:
        cumulative = [row["cumulative"][treatment] for row in looks]
        series[treatment] = {
            key: [_nan(k.get(key)) for k in cumulative]
            for key in (
                "relative",
                "relative_low",
                "relative_high",
                "always_valid_low",
                "always_valid_high",
            )
        }
    return {
        "x": [_when(row["end"]) for row in looks],
        "x_range": tuple(_when(t) for t in timeline["span"]),
        "series": series,
        "title": f"cumulative relative lift, {timeline['metric']}, by "
        f"{PERIODS.get(timeline['period_seconds'], 'day')}",
    }


def lift_axes(chart: dict[str, Any]) -> tuple[Figure, Axes]:
    """The cumulative-lift chart of :func:`lift_chart`'s data: a line with its interval
    band per treatment (an error bar for a single look), the always-valid interval
    dashed, on an axis covering the test's span only."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = chart["x"]
    for treatment, s in chart["series"].items():
        if len(x) == 1:
            mid, low, high = s["relative"][0], s["relative_low"][0], s["relative_high"][0]
            ax.errorbar(x, [mid], yerr=[[mid - low], [high - mid]], fmt="o", capsize=4,
                        label=f"{treatment} with its interval")  # fmt: skip
        else:
            ax.plot(x, s["relative"], marker="o", label=treatment)
            ax.fill_between(
                x, s["relative_low"], s["relative_high"], alpha=0.2,
                label=f"{treatment}: interval at that look",
            )  # fmt: skip
        ax.plot(x, s["always_valid_low"], "--", marker="_", color="grey",
                label=f"{treatment}: always-valid interval (peeking-safe)")  # fmt: skip
        ax.plot(x, s["always_valid_high"], "--", marker="_", color="grey")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_title(chart["title"])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    _time_axis(ax, chart["x_range"])
    ax.legend(fontsize="small")
    return fig, ax


def _time_axis(ax: Axes, x_range: tuple[dt.datetime, dt.datetime]) -> None:
    """Dates (or hours, minutes) along x, over exactly ``x_range``."""
    locator = mdates.AutoDateLocator(tz=dt.UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=dt.UTC))
    ax.set_xlim(*x_range)
    ax.set_xlabel("UTC")


def lift_figure(timeline: dict[str, Any]) -> str:
    """Cumulative relative lift of the primary metric with its interval, look by look."""
    return png_img(lift_axes(lift_chart(timeline))[0])


def cohort_axes(timeline: dict[str, Any]) -> tuple[Figure, Axes]:
    """The primary metric per variant of the units first exposed in each period."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    looks = timeline["looks"]
    starts = [_when(row["start"]) for row in looks]
    for variant in looks[0]["cohort"] if looks else []:
        values = [_nan(row["cohort"][variant]) for row in looks]
        ax.plot(starts, values, marker="o", label=variant)
    period = PERIODS.get(timeline["period_seconds"], "day")
    ax.set_title(f"{timeline['metric']} per variant, by {period} of first exposure")
    _time_axis(ax, (_when(timeline["span"][0]), _when(timeline["span"][1])))
    ax.legend()
    return fig, ax


def daily_figure(timeline: dict[str, Any]) -> str:
    """The primary metric per variant of the units first exposed in each period."""
    return png_img(cohort_axes(timeline)[0])


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def srm_block(srm: dict[str, Any]) -> str:
    """A warning when the sample ratio is off, a green line when it is not."""
    units = ", ".join(f"{html.escape(k)} {v:,}" for k, v in srm["units"].items())
    shares = ", ".join(f"{html.escape(k)} {v:.0%}" for k, v in srm["expected_shares"].items())
    text = f"units {units} (expected {shares}); χ² p = {_fmt(srm.get('p_value'))}"
    if srm["flagged"]:
        return (
            f'<p class="flag"><b>Sample-ratio mismatch</b> (p &lt; {srm["threshold"]}): {text}. '
            "Assignment or logging is broken; do not trust the results below.</p>"
        )
    return f'<p class="ok">Sample ratio as configured: {text}.</p>'


def _metric_rows(name: str, metric: dict[str, Any], sequential: dict[str, Any]) -> list[str]:
    rows = []
    control = next(iter(metric["per_variant"].values()))
    for treatment, c in metric["comparisons"].items():
        cuped = c.get("cuped")
        seq = sequential.get(treatment, {}).get("p_value") if metric["role"] == "primary" else None
        cells = [
            f"{html.escape(name)} ({metric['role']})",
            html.escape(treatment),
            _fmt(control["value"]),
            _fmt(metric["per_variant"][treatment]["value"]),
            _pct(c["relative"]),
            _interval(c["relative_ci"]),
            _fmt(c["p_value"], 3),
            _fmt(seq, 3),
            "–" if c["chance_to_beat"] is None else f"{c['chance_to_beat']:.1%}",
            _interval(cuped["lift"]["relative_ci"]) if cuped else "–",
            _harmful_cell(metric, c),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return rows


def _harmful_cell(metric: dict[str, Any], comparison: dict[str, Any]) -> str:
    """``yes`` when the interval lies on the harmful side; a budgeted latency is judged
    by its budget instead (the relative change is information only)."""
    if metric.get("judged_by_budgets"):
        worse = " (worse, within budget: see Guardrails)" if comparison["harmful"] else ""
        return f"judged by budget{worse}"
    return "yes" if comparison["harmful"] else ""


def verdict_block(report: dict[str, Any]) -> str:
    """The verdict on top of the page: ship, don't ship or keep running, and why."""
    verdict = report.get("verdict")
    if not verdict:
        return ""
    css = {"ship": "ok", "dont_ship": "flag"}.get(verdict["decision"], "wait")
    head = verdict["line"].split(" (", 1)[0].removeprefix("verdict: ")
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict["reasons"])
    return f'<div class="{css} verdict"><b>Verdict: {html.escape(head)}</b><ul>{reasons}</ul></div>'


def guardrails_block(report: dict[str, Any]) -> str:
    """Breaches (each with how it was judged) and every latency budget per arm."""
    parts = []
    breaches = report.get("guardrail_breaches", [])
    if breaches:
        items = "".join(
            f"<li>{html.escape(b['treatment'])}: {html.escape(b['text'])} "
            f"(judged {'against the budget' if b['judged_by'] == 'budget' else 'vs control'})"
            "</li>"
            for b in breaches
        )
        parts.append(f'<div class="flag"><b>Guardrails breached</b><ul>{items}</ul></div>')
    for name, budget in (report.get("guardrail_budgets") or {}).items():
        cells = "".join(
            f"<tr><td>{html.escape(v)}</td><td>{_fmt(a['value'])}</td>"
            f"<td>{a['exposures']:,}</td><td>{_within(v, a, budget)}"
            "</td></tr>"
            for v, a in budget["per_variant"].items()
        )
        parts.append(
            f"<p>Budget {html.escape(name)} ≤ {budget['limit_ms']:g} ms (the "
            f"{budget['quantile']:.0%} quantile of each arm's exposures):</p><table><tr>"
            f"<th>variant</th><th>ms</th><th>exposures</th><th>budget</th></tr>{cells}</table>"
        )
    return "".join(parts)


def _within(variant: str, arm: dict[str, Any], budget: dict[str, Any]) -> str:
    if arm["value"] is None:
        return "no latencies"
    if variant in budget["breached_by"]:
        return "<b>over</b>"
    return "within"


def design_block(report: dict[str, Any]) -> str:
    """Units so far against the planned sample, when the design plans one."""
    design = report.get("design")
    if not design:
        return ""
    arms = ", ".join(
        f"{html.escape(v)} {design['units'][v]:,} of {n:,}"
        for v, n in design["planned_units"].items()
    )
    progress = design["progress"]
    state = (
        "reached"
        if design["reached"]
        else f"{progress:.0%} of the way"
        if progress >= 0.01 or progress == 0
        else "under 1% of the way"
    )
    return f"<p>Planned sample ({state}): {arms}.</p>"


def metrics_table(report: dict[str, Any]) -> str:
    """Every metric: control and treatment values, lift, interval, p-values, chance to beat."""
    sequential = (report.get("timeline") or {}).get("sequential", {})
    head = (
        "metric",
        "treatment",
        "control",
        "treatment value",
        "relative lift",
        "interval",
        "p",
        "sequential p",
        "chance to beat",
        "CUPED interval",
        "harmful",
    )
    rows = [r for n, m in report["metrics"].items() for r in _metric_rows(n, m, sequential)]
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def segments_table(report: dict[str, Any]) -> str:
    """The primary metric's lift per segment."""
    if not report["segments"]:
        return "<p>No segments were logged with the exposures.</p>"
    rows = []
    for seg in report["segments"]:
        for treatment, c in seg["comparisons"].items():
            units = sum(v["units"] for v in seg["per_variant"].values())
            cells = [
                html.escape(seg["segment"]),
                html.escape(treatment),
                f"{units:,}",
                _pct(c["relative"]),
                _interval(c["relative_ci"]),
                _fmt(c["p_value"], 3),
            ]
            rows.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>" for h in ("segment", "treatment", "units", "relative lift", "interval", "p")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render(report: dict[str, Any]) -> str:
    """The whole page."""
    exp = report["experiment"]
    title = html.escape(exp["name"])
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>",
        f"<style>{STYLE}</style></head><body><h1>Experiment {title}</h1>",
        verdict_block(report),
        f"<p>{html.escape(exp['description'])}</p>",
        f"<p>surface {html.escape(exp['surface'])}, unit {html.escape(exp['unit'])}, "
        f"status {_fmt(report.get('status'))}; {report['units']:,} units, "
        f"{report['exposures']:,} exposures; α = {report['alpha']}; primary metric "
        f"<b>{html.escape(exp['primary_metric'])}</b>.</p>",
        srm_block(report["srm"]),
    ]
    if report["mixed_units"]:
        parts.append(
            f'<p class="flag">{report["mixed_units"]:,} units were served several variants '
            "and are left out.</p>"
        )
    parts += [design_block(report), "<h2>Metrics</h2>", metrics_table(report)]
    if report.get("guardrail_breaches") or report.get("guardrail_budgets"):
        parts += ["<h2>Guardrails</h2>", guardrails_block(report)]
    if report.get("timeline") and report["timeline"]["looks"]:
        parts += [
            "<h2>Over time</h2>",
            lift_figure(report["timeline"]),
            daily_figure(report["timeline"]),
        ]
    parts += ["<h2>Segments</h2>", segments_table(report), "</body></html>"]
    return "\n".join(parts)
