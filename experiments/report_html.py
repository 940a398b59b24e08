"""The report as one self-contained HTML page (figures embedded as base64 PNG).

Rendered from the JSON report alone, so the page and ``report.json`` always agree.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from matplotlib.ticker import PercentFormatter

from storefront.plots import plt, png_img

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.flag { background: #fdd; padding: 0.5em 1em; border-left: 4px solid #c00; }
.ok { background: #dfd; padding: 0.5em 1em; border-left: 4px solid #080; }
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


def lift_figure(timeline: dict[str, Any]) -> str:
    """Cumulative relative lift of the primary metric with its interval, day by day."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    days = _days(timeline)
    for treatment in timeline["sequential"]:
        looks = [row["cumulative"][treatment] for row in timeline["days"]]
        mid = [_nan(k["relative"]) for k in looks]
        ax.plot(days, mid, marker="o", label=treatment)
        low = [_nan(k["relative_low"]) for k in looks]
        high = [_nan(k["relative_high"]) for k in looks]
        ax.fill_between(days, low, high, alpha=0.2, label=f"{treatment}: interval at that day")
        ax.plot(
            days,
            [_nan(k.get("always_valid_low")) for k in looks],
            "--",
            color="grey",
            label=f"{treatment}: always-valid interval (peeking-safe)",
        )
        ax.plot(days, [_nan(k.get("always_valid_high")) for k in looks], "--", color="grey")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_title(f"cumulative relative lift, {timeline['metric']}")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return png_img(fig)


def daily_figure(timeline: dict[str, Any]) -> str:
    """The primary metric per variant of the units first exposed each day."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    days = _days(timeline)
    variants = timeline["days"][0]["cohort"].keys() if days else []
    for variant in variants:
        values = [_nan(row["cohort"][variant]) for row in timeline["days"]]
        ax.plot(days, values, marker="o", label=variant)
    ax.set_title(f"{timeline['metric']} per variant, by day of first exposure")
    ax.legend()
    fig.autofmt_xdate()
    return png_img(fig)


def _days(timeline: dict[str, Any]) -> list[dt.date]:
    return [dt.date.fromisoformat(row["day"]) for row in timeline["days"]]


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
            "yes" if c["harmful"] else "",
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return rows


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
    if report["guardrails_breached"]:
        breached = ", ".join(html.escape(g) for g in report["guardrails_breached"])
        parts.append(f'<p class="flag">Guardrails breached: {breached}.</p>')
    parts += ["<h2>Metrics</h2>", metrics_table(report)]
    if report.get("timeline") and report["timeline"]["days"]:
        parts += [
            "<h2>Over time</h2>",
            lift_figure(report["timeline"]),
            daily_figure(report["timeline"]),
        ]
    parts += ["<h2>Segments</h2>", segments_table(report), "</body></html>"]
    return "\n".join(parts)
