"""The dashboard's charts of a :class:`~kpi.report.KpiReport` (Plotly figures): hover
values in the figure's unit, axes titled with their unit (the shop's currency when it
has one), the previous period beside the current one."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from kpi.figures import BY_KEY
from kpi.report import KpiReport

NOW, BEFORE = "#2f5bd3", "#9aa5bd"
"""Colours of the current and the previous period (the pages' accent and a grey)."""
HEIGHT = 340
TREND = ("gmv", "orders", "conversion", "aov", "repurchase_rate", "return_rate", "gross_margin")


def _unit(kind: str, currency: str) -> str:
    if kind == "money":
        return f"amount ({currency.strip()})" if currency else "amount (shop currency)"
    return {"percent": "% ", "count": "count"}.get(kind, "")


def _axis(kind: str, currency: str) -> dict[str, Any]:
    """A value axis: tick format and prefix by kind."""
    if kind == "percent":
        return {"tickformat": ".1%", "rangemode": "tozero"}
    if kind == "money":
        return {"tickformat": ",.2f", "tickprefix": currency, "rangemode": "tozero"}
    return {"tickformat": ",d", "rangemode": "tozero"}


def _hover(kind: str, currency: str) -> str:
    """The hover template's value part."""
    if kind == "percent":
        return "%{y:.1%}"
    if kind == "money":
        return f"{currency}%{{y:,.2f}}"
    return "%{y:,d}"


def _layout(fig: go.Figure, **extra: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        legend={"orientation": "h", "y": 1.12, "x": 0},
        font={"family": "system-ui, sans-serif", "size": 12},
        **extra,
    )
    return fig


def trend(report: KpiReport) -> go.Figure:
    """Each headline figure by bucket, the previous period's dotted beside it; a menu
    picks the figure (GMV first)."""
    rows = report.series
    starts = [str(d) for d in rows["start"].to_list()]
    before = [str(d) for d in rows["previous_start"].to_list()]
    fig = go.Figure()
    buttons = []
    for n, key in enumerate(TREND):
        spec = BY_KEY[key]
        value = _hover(spec.kind, report.currency)
        fig.add_trace(
            go.Scatter(
                x=starts,
                y=rows[key].to_list(),
                name=f"{spec.heading}, this period",
                mode="lines+markers",
                line={"color": NOW},
                visible=n == 0,
                hovertemplate=f"{report.by} of %{{x}}: {value}<extra>this period</extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=starts,
                y=rows[f"{key}_previous"].to_list(),
                customdata=before,
                name=f"{spec.heading}, previous period",
                mode="lines+markers",
                line={"color": BEFORE, "dash": "dot"},
                visible=n == 0,
                hovertemplate=f"{report.by} of %{{customdata}}: {value}<extra>previous</extra>",
            )
        )
        shown = [i // 2 == n for i in range(2 * len(TREND))]
        axis = {"yaxis." + k: v for k, v in _axis(spec.kind, report.currency).items()}
        buttons.append(
            {
                "label": spec.label,
                "method": "update",
                "args": [
                    {"visible": shown},
                    {
                        "yaxis.title.text": f"{spec.heading} — {_unit(spec.kind, report.currency)}",
                        **axis,
                    },
                ],
            }
        )
    first = BY_KEY[TREND[0]]
    _layout(
        fig,
        hovermode="x unified",
        updatemenus=[
            {"buttons": buttons, "x": 1, "xanchor": "right", "y": 1.25, "showactive": True}
        ],
        xaxis={"title": {"text": f"{report.by} starting (UTC)"}, "type": "date"},
        yaxis={
            "title": {"text": f"{first.heading} — {_unit(first.kind, report.currency)}"},
            **_axis(first.kind, report.currency),
        },
    )
    return fig


def _pair(
    fig: go.Figure,
    labels: list[str],
    now: list[Any],
    before: list[Any],
    kind: str,
    currency: str,
    horizontal: bool = False,
) -> None:
    value = _hover(kind, currency).replace("%{y", "%{x") if horizontal else _hover(kind, currency)
    for name, values, colour in (("this period", now, NOW), ("previous period", before, BEFORE)):
        xy = (
            {"x": values, "y": labels, "orientation": "h"}
            if horizontal
            else {"x": labels, "y": values}
        )
        fig.add_trace(
            go.Bar(
                name=name,
                marker_color=colour,
                **xy,
                hovertemplate=f"%{{{'y' if horizontal else 'x'}}}: {value}<extra>{name}</extra>",
            )
        )


def _grouped(
    report: KpiReport,
    labels: list[str],
    now: list[Any],
    before: list[Any],
    kind: str,
    x_title: str,
    y_title: str,
) -> go.Figure:
    """Bars per label, this period beside the previous one, on a ``kind`` value axis."""
    fig = go.Figure()
    _pair(fig, labels, now, before, kind, report.currency)
    return _layout(
        fig,
        barmode="group",
        xaxis={"title": {"text": x_title}, "type": "category"},
        yaxis={"title": {"text": y_title}, **_axis(kind, report.currency)},
    )


def breakdown(report: KpiReport, frame: pl.DataFrame, key: str, title: str) -> go.Figure:
    """GMV per group (category, segment), this period beside the previous one."""
    top = frame.head(20)
    labels = [str(v) for v in top[key].to_list()]
    y_title = f"GMV — {_unit('money', report.currency)}"
    return _grouped(
        report, labels, top["gmv"].to_list(), top["gmv_previous"].to_list(), "money", title, y_title
    )


def funnel(report: KpiReport) -> go.Figure:
    """Sessions at each step, this period beside the previous one."""
    rows = report.funnel
    fig = go.Figure()
    for name, column, colour in (
        ("this period", "sessions", NOW),
        ("previous period", "sessions_previous", BEFORE),
    ):
        fig.add_trace(
            go.Funnel(
                name=name,
                y=rows["label"].to_list(),
                x=rows[column].to_list(),
                marker={"color": colour},
                textinfo="value+percent previous",
                hovertemplate="%{y}: %{x:,d} sessions (%{percentPrevious:.1%} of the step before)"
                f"<extra>{name}</extra>",
            )
        )
    return _layout(
        fig,
        funnelmode="group",
        yaxis={"title": {"text": "step"}},
        xaxis={"title": {"text": "sessions (count)"}},
    )


def lifecycle(report: KpiReport) -> go.Figure:
    """Shoppers per lifecycle stage at the end of each period (win-back stages marked)."""
    rows = report.lifecycle
    labels = [
        s + (" (win-back)" if w else "")
        for s, w in zip(rows["stage"].to_list(), rows["win_back"].to_list(), strict=True)
    ]
    now, before = rows["shoppers"].to_list(), rows["shoppers_previous"].to_list()
    return _grouped(report, labels, now, before, "count", "lifecycle stage", "shoppers (count)")


def new_vs_returning(report: KpiReport) -> go.Figure:
    """GMV of new and returning buyers, this period beside the previous one."""
    rows = report.new_vs_returning
    y_title = f"GMV — {_unit('money', report.currency)}"
    now, before = rows["gmv"].to_list(), rows["gmv_previous"].to_list()
    return _grouped(report, rows["kind"].to_list(), now, before, "money", "buyers", y_title)


def margin(report: KpiReport) -> go.Figure:
    """Gross margin per category, this period beside the previous one."""
    rows = report.by_category.sort("gross_margin", descending=True, nulls_last=True).head(20)
    labels = [str(c) for c in rows["category"].to_list()]
    now, before = rows["gross_margin"].to_list(), rows["gross_margin_previous"].to_list()
    y_title = "gross margin (% of net revenue)"
    return _grouped(report, labels, now, before, "percent", "category", y_title)


def promotion(report: KpiReport) -> go.Figure:
    """Promotion response (risk ratio) per tier with its 95% interval; 1 = no response."""
    rows = report.promotion.filter(pl.col("response").is_not_nan())
    response = rows["response"].to_list()
    fig = go.Figure(
        go.Bar(
            x=rows["tier"].to_list(),
            y=response,
            marker_color=NOW,
            name="response",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [h - r for h, r in zip(rows["ci_high"].to_list(), response, strict=True)],
                "arrayminus": [
                    r - lo for lo, r in zip(rows["ci_low"].to_list(), response, strict=True)
                ],
            },
            customdata=list(zip(rows["ci_low"].to_list(), rows["ci_high"].to_list(), strict=True)),
            hovertemplate="%{x}: ×%{y:.2f} (95%: %{customdata[0]:.2f} – %{customdata[1]:.2f})"
            "<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dot", line_color=BEFORE, annotation_text="no response")
    return _layout(
        fig,
        showlegend=False,
        xaxis={"title": {"text": "price-sensitivity tier"}, "type": "category"},
        yaxis={"title": {"text": "cart rate on promotion / off (ratio)"}, "rangemode": "tozero"},
    )
