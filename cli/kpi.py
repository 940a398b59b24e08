"""KPIs: ``storefront kpi`` prints the dashboard's figures as tables (or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from cli.common import DataDir, app, table, user_errors
from jobs import kpi
from kpi.figures import ALL_FIGURES, BY_KEY, FIGURES, Figure
from kpi.formats import change_text, freshness_lines, interval_text, value_text
from kpi.periods import parse_day
from kpi.report import KpiReport

KINDS = {f.key: f.kind for f in ALL_FIGURES}
SERIES = ("gmv", "orders", "conversion", "aov", "return_rate", "gross_margin")
BREAKDOWN = ("gmv", "orders", "aov", "conversion", "return_rate", "gross_margin")


def _text(key: str, value: object, report: KpiReport) -> str:
    return value_text(KINDS.get(key, "count"), value, report.currency)


def _headline(report: KpiReport) -> None:
    rows = []
    for fig in (*FIGURES, *(f for f in ALL_FIGURES if f not in FIGURES)):
        line = report.headline[fig.key]
        rows.append(
            [
                fig.label,
                _text(fig.key, line["current"], report),
                _text(fig.key, line["previous"], report),
                change_text(fig.kind, line["change"]),
            ]
        )
    table(
        f"KPIs {report.period.label()} (previous: {report.previous.label()})",
        ["figure", "this period", "previous", "change"],
        rows,
    )


def _frame(
    title: str, frame: pl.DataFrame, first: str, keys: tuple[str, ...], report: KpiReport
) -> None:
    columns = [first.replace("_", " "), *(BY_KEY[k].heading for k in keys), "GMV before"]
    rows = [
        [
            str(row[first]),
            *(_text(k, row[k], report) for k in keys),
            _text("gmv", row["gmv_previous"], report),
        ]
        for row in frame.iter_rows(named=True)
    ]
    table(title, columns, rows)


def _series(report: KpiReport) -> None:
    rows = [
        [
            f"{row['start']}" + ("" if row["start"] == row["end"] else f" – {row['end']}"),
            *(_text(k, row[k], report) for k in SERIES),
            _text("gmv", row["gmv_previous"], report),
        ]
        for row in report.series.iter_rows(named=True)
    ]
    headings = [report.by, *(BY_KEY[k].heading for k in SERIES), "GMV before"]
    table(f"by {report.by} (GMV before: the previous period's {report.by})", headings, rows)


def _shoppers(report: KpiReport) -> None:
    funnel = [
        [
            r["label"],
            f"{r['sessions']:,}",
            value_text("percent", r["step_rate"]),
            f"{r['sessions_previous']:,}",
            value_text("percent", r["step_rate_previous"]),
        ]
        for r in report.funnel.iter_rows(named=True)
    ]
    table("funnel (sessions)", ["step", "sessions", "step rate", "previous", "step rate"], funnel)
    stages = [
        [
            r["stage"] + (" (win-back)" if r["win_back"] else ""),
            f"{r['shoppers']:,}",
            f"{r['shoppers_previous']:,}",
        ]
        for r in report.lifecycle.iter_rows(named=True)
    ]
    table(
        f"lifecycle at the period's end (win-back list: {report.win_back['current']:,}, "
        f"previous {report.win_back['previous']:,})",
        ["stage", "shoppers", "previous"],
        stages,
    )
    _frame(
        "new vs returning buyers",
        report.new_vs_returning,
        "kind",
        ("buyers", "orders", "gmv", "aov"),
        report,
    )


def _items(title: str, frame: pl.DataFrame, report: KpiReport) -> None:
    keys = ("views", "units_sold", "gmv", "gross_margin", "return_rate", "on_hand")
    rows = [
        [
            str(r["item_id"]),
            str(r["category"]),
            *(_text(k, r[k], report) if k in KINDS else value_text("count", r[k]) for k in keys),
        ]
        for r in frame.iter_rows(named=True)
    ]
    table(
        title, ["item", "category", "views", "units", "GMV", "margin", "returns", "on hand"], rows
    )


def _products(report: KpiReport) -> None:
    _items(f"top {report.top_items.height} items", report.top_items, report)
    _items(f"bottom {report.bottom_items.height} items", report.bottom_items, report)
    stock = report.stock
    if stock["tracked"]:
        typer.echo(
            f"stock: {stock['items_out_of_stock']:,} items out of stock on some day "
            f"({stock['stockout_item_days']:,} item-days, "
            f"{value_text('percent', stock['stockout_share'])}); "
            f"{stock['items_overstocked']:,} overstocked at the end"
        )


def _marketing(report: KpiReport) -> None:
    if report.promotion.height:
        rows = [
            [
                r["tier"],
                f"{r['shoppers']:,}",
                value_text("percent", r["cart_rate_promoted"]),
                value_text("percent", r["cart_rate_regular"]),
                value_text("", r["response"]),
                interval_text(r["ci_low"], r["ci_high"]),
            ]
            for r in report.promotion.iter_rows(named=True)
        ]
        table(
            "promotion response by price-sensitivity tier",
            ["tier", "shoppers", "cart rate on promo", "off promo", "response", "95% interval"],
            rows,
        )
    if report.experiments:
        rows = [[e["name"], f"{e.get('units') or 0:,}", e["verdict"]] for e in report.experiments]
        table("running experiments", ["experiment", "units", "verdict"], rows)


def print_report(report: KpiReport) -> None:
    """The report as the console shows it: the headline, the series, the breakdowns and
    the three views, then where the data came from."""
    _headline(report)
    _series(report)
    _frame("by category", report.by_category, "category", BREAKDOWN, report)
    _frame(
        "by RFM segment (as the shoppers entered the period)",
        report.by_segment,
        "rfm_segment",
        BREAKDOWN,
        report,
    )
    _shoppers(report)
    _products(report)
    _marketing(report)
    for line in freshness_lines(report.freshness):
        typer.echo(line)
    if not report.currency:
        typer.echo("amounts are in the shop's currency (no currency is configured)")
    for note in report.notes:
        typer.echo(f"note: {note}")


def _figure(fig: Figure) -> dict[str, Any]:
    return {
        "key": fig.key,
        "label": fig.label,
        "kind": fig.kind,
        "higher_is_better": fig.higher_is_better,
    }


@app.command("kpi")
@user_errors
def kpi_command(
    data_dir: DataDir = None,
    since: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: 28 days before --until).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day, YYYY-MM-DD (default: the last day with data).")
    ] = None,
    by: Annotated[str, typer.Option(help="Series by `day` or `week`.")] = "day",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    events_url: Annotated[
        str | None,
        typer.Option(
            help="The service's event log (default: the shop's own, or the serving "
            "YAML's events.url)."
        ),
    ] = None,
    serving_config: Annotated[
        Path | None, typer.Option(help="Serving YAML (win-back stages, event log URL).")
    ] = None,
) -> None:
    """The KPIs of a date range beside the previous period (GMV, orders, conversion,
    average order value, repurchase and return rates, gross margin), by day or week, by
    category and RFM segment, with the shopper, product and marketing views: the
    dashboard's figures, from the feeds and the service's event log."""
    first, last = parse_day(since, "since"), parse_day(until, "until")
    report = kpi.kpi_report(data_dir, first, last, by, events_url, serving_config)
    if as_json:
        typer.echo(
            json.dumps(
                report.as_dict() | {"figures": [_figure(f) for f in ALL_FIGURES]},
                indent=2,
                allow_nan=False,
            )
        )
    else:
        print_report(report)
