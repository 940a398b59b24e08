"""The KPI dashboard: ``GET /dashboard?since=&until=&by=`` (admin login).

The figures are :mod:`kpi`'s (the same as ``storefront kpi``), from the shop's feeds and
the service's event log, for a date range (default: the last 28 days of data) beside
the previous period of the same length: headline tiles, the trend by day or week, the
breakdowns by category and RFM segment, and the three views (shopper behaviour,
product performance, marketing effect). With ``Accept: application/json`` the same
report comes back as JSON.

A report is kept for :data:`CACHE_SECONDS` while the feeds and the service's event log
are unchanged (the feeds are re-read only when their files change), so looking again,
or at another range, is quick.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kpi import charts
from kpi.figures import FIGURES
from kpi.formats import (
    change_class,
    change_text,
    freshness_lines,
    interval_text,
    moment_text,
    value_text,
)
from kpi.periods import BY_VALUES, check_by, parse_day
from kpi.report import DEFAULT_WIN_BACK, KpiReport, KpiSettings, build_report
from kpi.sources import feed_version, logged_events, read_shop_feeds, shop_data
from serving.pages.layout import card, esc, figure, page, table
from serving.pages.site import ShopContext, Site, html_page, report_responses
from storefront.config import ConfigError
from storefront.feeds import FeedValidationError

CACHE_SECONDS = 60.0
"""How long a report is reused while its data is unchanged (experiments move on)."""
CACHE_SIZE = 8
ITEM_ROWS = 500
"""Rows of the all-items table (the highest GMV first)."""
PATH = "/dashboard"


class _Reports:
    """The reports and feeds recently computed, one computation at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.feeds: tuple[Any, Any] | None = None
        self.reports: OrderedDict[tuple[Any, ...], tuple[float, KpiReport]] = OrderedDict()

    def report(self, ctx: ShopContext, since: Any, until: Any, by: str) -> KpiReport:
        with self.lock:
            version = (str(ctx.data_dir), feed_version(ctx.data_dir))
            if self.feeds is None or self.feeds[0] != version:
                self.feeds = (version, read_shop_feeds(ctx.data_dir))
            logged = logged_events(ctx.events_url)
            key = (version, logged[0].height, logged[1], since, until, by)
            hit = self.reports.get(key)
            if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
                return hit[1]
            data = shop_data(ctx.data_dir, self.feeds[1], logged)
            made = build_report(
                data, since, until, by, _settings(ctx), _experiments(ctx), ctx.clock.now()
            )
            self.reports[key] = (time.monotonic(), made)
            while len(self.reports) > CACHE_SIZE:
                self.reports.popitem(last=False)
            return made


REPORTS = _Reports()


def _settings(ctx: ShopContext) -> KpiSettings:
    cfg = ctx.settings
    features = getattr(cfg, "features_config", None)
    profile = getattr(cfg, "profile", None)
    stages = getattr(profile, "win_back_stages", None) or DEFAULT_WIN_BACK
    return KpiSettings.load(features, None, stages)


def _experiments(ctx: ShopContext) -> Callable[[], list[dict[str, Any]]]:
    def running() -> list[dict[str, Any]]:
        from experiments.config import load_settings
        from kpi.marketing import running_experiments

        if ctx.experiment_store is None:
            return []
        path = getattr(ctx.settings, "experiments_settings", None)
        return running_experiments(ctx.experiment_store, load_settings(path))

    return running


# -- the page ----------------------------------------------------------------------------
def _money(report: KpiReport) -> Callable[[Any], str]:
    return lambda v: esc(value_text("money", v, report.currency))


def _share(value: Any) -> str:
    return esc(value_text("percent", value))


def _count(value: Any) -> str:
    return esc(value_text("count", value))


def _tiles(report: KpiReport) -> str:
    parts = []
    for fig in FIGURES:
        line = report.headline[fig.key]
        tone = change_class(line["change"], fig.higher_is_better)
        parts.append(
            f'<div class="tile" data-figure="{fig.key}"><span class="label">{esc(fig.label)}</span>'
            f'<span class="value">{esc(value_text(fig.kind, line["current"], report.currency))}'
            f'</span><span class="compare">previous '
            f"{esc(value_text(fig.kind, line['previous'], report.currency))} · "
            f'<span class="{tone}">{esc(change_text(fig.kind, line["change"]))}</span></span></div>'
        )
    return f'<div class="tiles">{"".join(parts)}</div>'


def _filters(report: KpiReport, last_day: Any) -> str:
    options = "".join(
        f'<option value="{b}"{" selected" if b == report.by else ""}>by {b}</option>'
        for b in BY_VALUES
    )
    quick = " ".join(
        f'<a href="{PATH}?since={last_day - dt.timedelta(days=n - 1)}&amp;until={last_day}'
        f'&amp;by={report.by}">last {n} days</a>'
        for n in (7, 28, 90)
    )
    return (
        f'<form class="card filters" method="get" action="{PATH}">'
        f'<label>From <input type="date" name="since" value="{report.period.since}"></label> '
        f'<label>to <input type="date" name="until" value="{report.period.until}"></label> '
        f'<select name="by" aria-label="Buckets">{options}</select> '
        f'<button type="submit">Show</button> <span class="note">{quick}</span>'
        '<nav class="note" aria-label="Sections"> Jump to: <a href="#overview">overview</a> · '
        '<a href="#shoppers">shoppers</a> · <a href="#products">products</a> · '
        '<a href="#marketing">marketing</a></nav></form>'
    )


def _breakdown_table(
    report: KpiReport, rows: list[dict[str, Any]], key: str, title: str, table_id: str
) -> str:
    money = _money(report)
    columns = [
        (key, title),
        ("gmv", "GMV"),
        ("gmv_previous", "GMV before"),
        ("orders", "Orders"),
        ("aov", "AOV"),
        ("conversion", "Conversion"),
        ("repurchase_rate", "Repurchase"),
        ("return_rate", "Returns"),
        ("gross_margin", "Margin"),
        ("buyers", "Buyers"),
    ]
    formats = {
        "gmv": money,
        "gmv_previous": money,
        "aov": money,
        "orders": _count,
        "buyers": _count,
        "conversion": _share,
        "repurchase_rate": _share,
        "return_rate": _share,
        "gross_margin": _share,
    }
    return table(rows, columns, table_id=table_id, formats=formats)


ITEM_COLUMNS = {
    "item_id": "Item",
    "name": "Name",
    "category": "Category",
    "views": "Views",
    "carts": "Carts",
    "units_sold": "Units",
    "gmv": "GMV",
    "gmv_previous": "GMV before",
    "conversion": "Conversion",
    "gross_margin": "Margin",
    "return_rate": "Returns",
    "on_hand": "On hand",
    "days_of_cover": "Days of cover",
    "stockout_days": "Days out",
}
STOCK_COLUMNS = (
    "item_id",
    "name",
    "category",
    "stockout_days",
    "on_hand",
    "units_sold",
    "gmv",
    "gmv_previous",
)
COVER_COLUMNS = (
    "item_id",
    "name",
    "category",
    "on_hand",
    "days_of_cover",
    "units_sold",
    "gmv",
    "views",
)


def _item_table(
    report: KpiReport,
    rows: list[dict[str, Any]],
    table_id: str,
    search: bool = False,
    keys: tuple[str, ...] = tuple(ITEM_COLUMNS),
) -> str:
    money = _money(report)
    named = any(r.get("name") for r in rows)
    columns = [(k, ITEM_COLUMNS[k]) for k in keys if k != "name" or named]
    formats = {
        "gmv": money,
        "gmv_previous": money,
        "conversion": _share,
        "gross_margin": _share,
        "return_rate": _share,
        "views": _count,
        "carts": _count,
        "units_sold": _count,
        "on_hand": _count,
        "stockout_days": _count,
        "days_of_cover": lambda v: esc("–" if v is None else f"{v:,.0f}"),
    }
    return table(rows, columns, table_id=table_id, search=search, formats=formats)


def _overview(report: KpiReport) -> str:
    trend = figure(charts.trend(report), "chart-trend")
    category = figure(
        charts.breakdown(report, report.by_category, "category", "Category"), "chart-category"
    )
    segment = figure(
        charts.breakdown(report, report.by_segment, "rfm_segment", "RFM segment"), "chart-segment"
    )
    return (
        '<h2 id="overview" class="section">Overview</h2>'
        + card(
            f"Trend by {report.by}",
            trend,
            "Pick the figure in the menu; the dotted line is the previous period, "
            f"{report.by} by {report.by}.",
        )
        + '<div class="grid">'
        + card("GMV by category", category)
        + card(
            "GMV by RFM segment",
            segment,
            "Each shopper in the segment they entered the period with (the feature store's "
            "RFM segment the day before); shoppers new to the shop are prospects.",
        )
        + "</div>"
        + card(
            "By category",
            _breakdown_table(
                report, report.by_category.to_dicts(), "category", "Category", "by-category"
            ),
        )
        + card(
            "By RFM segment",
            _breakdown_table(
                report, report.by_segment.to_dicts(), "rfm_segment", "Segment", "by-segment"
            ),
        )
    )


def _shoppers(report: KpiReport) -> str:
    stages = report.lifecycle.to_dicts()
    nvr = report.new_vs_returning.to_dicts()
    money = _money(report)
    stage_table = table(
        [r | {"stage": r["stage"] + (" (win-back)" if r["win_back"] else "")} for r in stages],
        [("stage", "Stage"), ("shoppers", "Shoppers"), ("shoppers_previous", "Before")],
        table_id="lifecycle",
        search=False,
        formats={"shoppers": _count, "shoppers_previous": _count},
    )
    nvr_table = table(
        nvr,
        [
            ("kind", "Buyers"),
            ("buyers", "Count"),
            ("orders", "Orders"),
            ("gmv", "GMV"),
            ("share_of_gmv", "Share of GMV"),
            ("aov", "AOV"),
            ("buyers_previous", "Count before"),
            ("gmv_previous", "GMV before"),
        ],
        table_id="new-vs-returning",
        search=False,
        formats={
            "buyers": _count,
            "orders": _count,
            "gmv": money,
            "aov": money,
            "share_of_gmv": _share,
            "buyers_previous": _count,
            "gmv_previous": money,
        },
    )
    win = report.win_back
    listed = " or ".join(
        s.replace("_", " ")
        for s, w in zip(report.lifecycle["stage"], report.lifecycle["win_back"], strict=True)
        if w
    )
    return (
        "<h2 id=shoppers>Shopper behaviour</h2>"
        + f'<div class="tiles"><div class="tile" id="win-back"><span class="label">Win-back list'
        f'</span><span class="value">{win["current"]:,}</span><span class="compare">shoppers '
        f"{esc(listed)} at the period's end; previous {win['previous']:,}</span></div></div>"
        + '<div class="grid">'
        + card(
            "Funnel: view → cart → purchase",
            figure(charts.funnel(report), "chart-funnel"),
            "Sessions with at least one event of each step; the percentages are of the "
            "step before.",
        )
        + card(
            "Lifecycle stages at the period's end",
            figure(charts.lifecycle(report), "chart-lifecycle") + stage_table,
        )
        + card(
            "New and returning buyers",
            figure(charts.new_vs_returning(report), "chart-nvr") + nvr_table,
            "New: the first purchase ever falls in the period.",
        )
        + "</div>"
    )


def _products(report: KpiReport) -> str:
    stock = report.stock
    if stock["tracked"]:
        stock_line = (
            f'<div class="tiles"><div class="tile"><span class="label">Items out of stock'
            f'</span><span class="value">{stock["items_out_of_stock"]:,}</span><span '
            f'class="compare">{stock["stockout_item_days"]:,} item-days · '
            f"{esc(value_text('percent', stock['stockout_share']))} of item-days</span></div>"
            f'<div class="tile"><span class="label">Overstocked at the end</span><span '
            f'class="value">{stock["items_overstocked"]:,}</span><span class="compare">more '
            "cover than the inventory settings allow</span></div></div>"
        )
    else:
        stock_line = '<p class="note">No inventory feed: stock is unlimited.</p>'
    items = report.items.head(ITEM_ROWS).to_dicts()
    return (
        "<h2 id=products>Product performance</h2>"
        + stock_line
        + card(
            f"Top {report.top_items.height} items by GMV",
            _item_table(report, report.top_items.to_dicts(), "top-items"),
        )
        + card(
            f"Bottom {report.bottom_items.height} items by GMV",
            _item_table(report, report.bottom_items.to_dicts(), "bottom-items"),
            "Of equal GMV, the most viewed first: looked at, not bought.",
        )
        + '<div class="grid">'
        + card(
            "Gross margin by category",
            figure(charts.margin(report), "chart-margin"),
            "Over the items whose unit cost the catalog has.",
        )
        + card(
            "Stock-outs",
            _item_table(report, report.stockouts.to_dicts(), "stockouts", True, STOCK_COLUMNS),
            "Days out: days of the period the item's stock snapshot had nothing on hand.",
        )
        + "</div>"
        + card(
            "Overstock at the period's end",
            _item_table(report, report.overstock.to_dicts(), "overstock", True, COVER_COLUMNS),
            "Days of cover: units on hand at the end / mean daily units sold in the period; "
            f"more than {report.stock['overstock_cover_days']:g} days, or stock and no sale, "
            "is overstock.",
        )
        + card(
            "All items",
            _item_table(report, items, "items", search=True),
            f"The {len(items):,} items with the highest GMV of {report.items.height:,}.",
        )
    )


def _marketing(report: KpiReport) -> str:
    promo = [
        r | {"interval": interval_text(r["ci_low"], r["ci_high"])}
        for r in report.promotion.to_dicts()
    ]
    if promo:
        promo_part = figure(charts.promotion(report), "chart-promotion") + table(
            promo,
            [
                ("tier", "Tier"),
                ("shoppers", "Shoppers"),
                ("promoted_views", "Views on promo"),
                ("cart_rate_promoted", "Cart rate on promo"),
                ("regular_views", "Views off promo"),
                ("cart_rate_regular", "Cart rate off promo"),
                ("response", "Response"),
                ("interval", "95% interval"),
            ],
            table_id="promotion",
            search=False,
            formats={
                "shoppers": _count,
                "promoted_views": _count,
                "regular_views": _count,
                "cart_rate_promoted": _share,
                "cart_rate_regular": _share,
                "response": lambda v: esc(value_text("", v)),
            },
        )
    else:
        promo_part = (
            '<p class="note">No promotion response: it needs views, a prices feed '
            "with promotion flags and shoppers who bought.</p>"
        )
    running = report.experiments
    if running:
        exp_part = table(
            running,
            [
                ("name", "Experiment"),
                ("surface", "Surface"),
                ("primary_metric", "Primary metric"),
                ("units", "Units"),
                ("lift", "Lift"),
                ("verdict", "Verdict"),
            ],
            table_id="experiments",
            search=False,
            formats={
                "units": _count,
                "lift": lambda v: esc(change_text("", v)),
                "verdict": lambda v: esc(str(v).removeprefix("verdict: ")),
            },
            row_attrs=lambda r: f'data-decision="{esc(r.get("decision") or "")}"',
        )
    else:
        exp_part = '<p class="note">No experiment is running.</p>'
    return (
        '<h2 id=marketing>Marketing effect</h2><div class="grid">'
        + card(
            "Promotion response by price-sensitivity tier",
            promo_part,
            "Add-to-cart rate of promoted views against regular ones, stratified by item "
            "(1 = no response). Tiers: what shoppers paid against list prices, in thirds.",
        )
        + card(
            "Running experiments",
            exp_part,
            "The verdict of each report: ship, don't ship or keep running.",
        )
        + "</div>"
    )


def render(report: KpiReport, last_day: Any) -> str:
    """The whole dashboard page of a report."""
    fresh = freshness_lines(report.freshness)
    money = "in " + report.currency if report.currency else "in the shop's currency (none set)"
    subtitle = (
        f"{report.period.label()} ({report.period.days} days, by {report.by}) beside "
        f"{report.previous.label()} · {fresh[0]} · amounts {money} · computed "
        f"{moment_text(report.computed_at)}"
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in [*fresh[1:], *report.notes])
    body = (
        _filters(report, last_day)
        + _tiles(report)
        + _overview(report)
        + _shoppers(report)
        + _products(report)
        + _marketing(report)
        + card("Data", f'<ul id="freshness">{notes}</ul>')
    )
    return page("KPI dashboard", body, active=PATH, subtitle=subtitle)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _refused(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"error": message, "fields": [field] if field else []}, status_code=status
        )
    body = card(
        "The dashboard cannot show this",
        f'<p class="error">{esc(message)}</p><p><a href="{PATH}">The last 28 days</a></p>',
    )
    return HTMLResponse(page("KPI dashboard", body, active=PATH), status_code=status)


def _query(request: Request) -> tuple[Any, Any, str]:
    """``since``, ``until`` and ``by`` from the query string.

    Raises:
        ValueError: A bad value; ``args[1]`` names the parameter.
    """
    params = request.query_params
    values = {}
    for name in ("since", "until"):
        try:
            values[name] = parse_day(params.get(name), name)
        except ValueError as exc:
            raise ValueError(str(exc), name) from exc
    try:
        by = check_by(params.get("by") or "day")
    except ValueError as exc:
        raise ValueError(str(exc), "by") from exc
    if values["since"] and values["until"] and values["until"] < values["since"]:
        raise ValueError(f"until ({values['until']}) is before since ({values['since']})", "until")
    return values["since"], values["until"], by


def routes(site: Site) -> list[BaseRoute]:
    """``GET /dashboard`` behind the admin login."""

    async def dashboard(request: Request) -> Response:
        try:
            since, until, by = _query(request)
        except ValueError as exc:
            return _refused(request, 400, exc.args[0], exc.args[1])
        try:
            ctx = site.context()
            report = await run_in_threadpool(REPORTS.report, ctx, since, until, by)
        except LookupError as exc:
            return _refused(request, 503, str(exc))
        except (FeedValidationError, ConfigError, FileNotFoundError) as exc:
            return _refused(request, 503, f"the KPIs cannot be computed: {exc}")
        except ValueError as exc:
            return _refused(request, 400, str(exc))
        if _wants_json(request):
            return JSONResponse(report.as_dict())
        last = report.freshness.last_event
        last_day = last.date() if last else report.period.until
        return HTMLResponse(render(report, last_day))

    return [Route(PATH, site.admin(dashboard), methods=["GET"])]


def openapi_paths() -> dict[str, Any]:
    """The dashboard's OpenAPI path: the page, its filters and its JSON form."""
    item = html_page(
        "The KPI dashboard",
        "GMV, orders, conversion, average order value, repurchase and return rates and "
        "gross margin for a date range beside the previous period of the same length, by "
        "day or week, by category and RFM segment, with the shopper, product and marketing "
        "views; from the feeds and the service's event log. `Accept: application/json` "
        "answers the same report as JSON (as `storefront kpi --json`).",
    )
    get = item["get"]
    day = {"type": "string", "format": "date"}
    get["parameters"] = [
        {
            "name": "since",
            "in": "query",
            "required": False,
            "schema": day,
            "description": "First day (UTC), included. Default: 27 days before `until`.",
            "example": "2025-06-01",
        },
        {
            "name": "until",
            "in": "query",
            "required": False,
            "schema": day,
            "description": "Last day (UTC), included. Default: the last day with data.",
            "example": "2025-06-28",
        },
        {
            "name": "by",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": list(BY_VALUES), "default": "day"},
            "description": "Buckets of the trend: days, or weeks from the first day.",
        },
    ]
    report_responses(
        get,
        "The KPI report (see the README).",
        "A bad filter (named in `fields`).",
        "The shop has no events or catalog feed yet.",
    )
    return {PATH: item}
