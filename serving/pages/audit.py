"""The algorithm audit page: ``GET /audit?since=&until=`` (admin login).

The same report as ``storefront audit`` (:mod:`audit.report`), from the service's quote
log and exposures in the experiment store, the shop's feeds, its event log and its log
files: price parity, lawful reference prices, exposure fairness of recommendations and
privacy, each with its verdict, the findings in tables that sort and search, and the
exposure measures as charts. No shopper id is shown (counts and pseudonym counts only).
With ``Accept: application/json`` the report comes back as JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from audit.report import AuditReport, build_report
from kpi.periods import parse_day
from serving.pages.layout import card, esc, figure, money, page, percent, table, tiles, when
from serving.pages.site import ShopContext, Site, html_page, report_responses
from storefront.config import ConfigError
from storefront.feeds import FeedValidationError

PATH = "/audit"
ROWS = 500
"""Rows shown per findings table (the count says how many there are)."""


def _verdict(ok: bool) -> str:
    return '<span class="good">pass</span>' if ok else '<span class="bad">fail</span>'


def _checks(report: AuditReport) -> str:
    p, r, e = report.parity, report.reference, report.exposure
    return tiles(
        [
            ("Price divergences", f"{p.divergences.height:,}",
             f"{p.quotes:,} quotes, {p.shared:,} shared moments"),
            ("Unlawful reference prices", f"{r.violations.height:,}",
             f"{r.reduced:,} reduced, {r.shown_was_price:,} with a was price"),
            ("Raw shopper ids found", f"{report.leaks:,}",
             f"{report.raw_ids:,} ids in {len(report.privacy)} places"),
            ("Exposure Gini", "–" if e.gini is None else f"{e.gini:.3f}",
             f"coverage {percent(e.coverage)}, {e.lists:,} lists"),
        ]
    )  # fmt: skip


def _share_chart(frame: pl.DataFrame, title: str, div_id: str) -> str:
    rows = frame.head(20)
    fig = go.Figure(
        [
            go.Bar(name="Exposure share", x=rows["group"].to_list(),
                   y=rows["exposure_share"].to_list(),
                   hovertemplate="%{x}<br>exposure %{y:.1%}<extra></extra>"),
            go.Bar(name="Purchase share", x=rows["group"].to_list(),
                   y=rows["purchase_share"].to_list(),
                   hovertemplate="%{x}<br>purchases %{y:.1%}<extra></extra>"),
        ]
    )  # fmt: skip
    fig.update_layout(
        title=title, barmode="group", height=360, margin={"t": 50, "b": 60},
        yaxis={"title": "share of impressions / units bought (%)", "tickformat": ".0%"},
        xaxis={"title": "group"}, legend={"orientation": "h"},
    )  # fmt: skip
    return figure(fig, div_id)


def _daily_chart(daily: pl.DataFrame) -> str:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    days = [d.isoformat() for d in daily["day"].to_list()]
    fig.add_trace(go.Scatter(name="Exposure Gini", x=days, y=daily["gini"].to_list(),
                             mode="lines+markers",
                             hovertemplate="%{x}<br>Gini %{y:.3f}<extra></extra>"))  # fmt: skip
    fig.add_trace(
        go.Scatter(name="Catalogue coverage", x=days, y=daily["coverage"].to_list(),
                   mode="lines+markers",
                   hovertemplate="%{x}<br>coverage %{y:.1%}<extra></extra>"),
        secondary_y=True,
    )  # fmt: skip
    fig.update_layout(title="Exposure concentration by day", height=340,
                      margin={"t": 50}, legend={"orientation": "h"})  # fmt: skip
    fig.update_xaxes(title_text="day (UTC)")
    fig.update_yaxes(title_text="Gini (0 = equal, 1 = one item)", range=[0, 1])
    fig.update_yaxes(title_text="coverage (% of catalogue)", tickformat=".0%",
                     secondary_y=True, rangemode="tozero")  # fmt: skip
    return figure(fig, "chart-daily")


def _shares_table(frame: pl.DataFrame, table_id: str, heading: str) -> str:
    return table(
        frame.head(ROWS).to_dicts(),
        [("group", heading), ("exposure_share", "Exposure share"),
         ("purchase_share", "Purchase share"), ("ratio", "Exposure / purchases")],
        table_id=table_id,
        formats={"exposure_share": percent, "purchase_share": percent,
                 "ratio": lambda v: "–" if v is None else f"{v:.2f}"},
    )  # fmt: skip


def _parity(report: AuditReport) -> str:
    found = report.parity.divergences
    rows = [
        r | {"prices": ", ".join(money(p) for p in r["prices"])}
        for r in found.head(ROWS).to_dicts()
    ]
    listing = table(
        rows,
        [("item_id", "Item"), ("moment", "Moment"), ("quotes", "Quotes"),
         ("prices", "Prices quoted"), ("requesters", "Requesters (pseudonyms)")],
        table_id="divergences", formats={"moment": when},
    )  # fmt: skip
    note = (
        "Every quote of an item within the same second must name one price, whoever asked "
        f"(expected: none). {found.height:,} found; {report.parity.items:,} items quoted."
    )
    return card(f"Price parity {_verdict(report.parity.ok)}", listing, note)


def _reference(report: AuditReport) -> str:
    found = report.reference.violations
    listing = table(
        found.head(ROWS).to_dicts(),
        [("item_id", "Item"), ("quoted_at", "Quoted"), ("price", "Price"),
         ("was_price", "Was price shown"), ("lawful", "Lawful 30-day lowest"),
         ("reason", "Reason"), ("request_id", "Request")],
        table_id="reference-prices",
        formats={"quoted_at": when, "price": money, "was_price": money, "lawful": money},
    )  # fmt: skip
    note = (
        "A price shown as reduced must name the lowest price of the 30 days before it took "
        "effect, and be below it; no was price may be shown otherwise."
    )
    return card(f"Reference prices {_verdict(report.reference.ok)}", listing, note)


def _privacy(report: AuditReport) -> str:
    rows = [{"kind": p.kind, "name": p.name, "searched": p.searched, "leaks": p.leaks}
            for p in report.privacy]  # fmt: skip
    listing = table(
        rows,
        [("kind", "Kind"), ("name", "Place"), ("searched", "Words / rows searched"),
         ("leaks", "Raw ids found")],
        table_id="privacy",
        row_attrs=lambda r: 'class="flag"' if r["leaks"] else "",
    )  # fmt: skip
    note = (
        f"The {report.raw_ids:,} raw user and session ids of the feeds and the event log, "
        "searched for in the service's log files and every table of the experiment store."
    )
    return card(f"Privacy {_verdict(report.leaks == 0)}", listing, note)


def _exposure(report: AuditReport) -> str:
    e = report.exposure
    lift = "–" if e.popularity_lift is None else f"{e.popularity_lift:+.1%}"
    summary = tiles(
        [
            ("Lists audited", f"{e.lists:,}", f"{e.impressions:,} impressions"),
            ("Catalogue coverage", percent(e.coverage), f"of {e.catalogue:,} items"),
            ("Popularity lift", lift, "ARP against what shoppers bought"),
            ("Average rec. popularity", "–" if e.arp is None else f"{e.arp:,.1f}",
             "interactions per item"),
        ]
    )  # fmt: skip
    charts = (
        '<div class="grid">'
        + card("By category", _share_chart(e.by_category, "Exposure vs purchases by category",
                                           "chart-category"))
        + card("New items", _share_chart(e.new_items, "New vs established items", "chart-new"))
        + "</div>"
        + card("Over time", _daily_chart(e.daily))
    )  # fmt: skip
    return (
        '<h2 class="section">Exposure fairness of recommendations</h2>'
        + summary
        + charts
        + card("By category", _shares_table(e.by_category, "by-category", "Category"))
        + card("By brand", _shares_table(e.by_brand, "by-brand", "Brand"))
        + card(
            "New items",
            _shares_table(e.new_items, "by-newness", "Items"),
            "New: within 30 days of the item's created_at.",
        )
    )


def render(report: AuditReport) -> str:
    """The whole page of a report."""
    span = f"{when(report.since) if report.since else 'first record'} – "
    span += when(report.until) if report.until else "last record"
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes) or "<li>all sources read</li>"
    form = (
        f'<form class="filters" method="get" action="{PATH}">'
        f'<label>Since <input type="date" name="since" value="{esc(report.since or "")}"></label> '
        f'<label>Until <input type="date" name="until" value="{esc(report.until or "")}"></label> '
        '<button type="submit">Show</button></form>'
    )
    body = (
        form
        + _checks(report)
        + _parity(report)
        + _reference(report)
        + _privacy(report)
        + _exposure(report)
        + card("Sources", f'<ul id="notes">{notes}</ul>')
    )
    return page("Algorithm audit", body, active=PATH, subtitle=f"Records of {span}")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _refused(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"error": message, "fields": [field] if field else []}, status_code=status
        )
    body = card("The audit cannot show this", f'<p class="error">{esc(message)}</p>')
    return HTMLResponse(page("Algorithm audit", body, active=PATH), status_code=status)


def _query(request: Request) -> tuple[dt.date | None, dt.date | None]:
    """``since`` and ``until`` (``ValueError`` naming the parameter in ``args[1]``)."""
    values = {}
    for name in ("since", "until"):
        try:
            values[name] = parse_day(request.query_params.get(name), name)
        except ValueError as exc:
            raise ValueError(str(exc), name) from exc
    since, until = values["since"], values["until"]
    if since and until and until < since:
        raise ValueError(f"until ({until}) is before since ({since})", "until")
    return since, until


def _report(ctx: ShopContext, since: dt.date | None, until: dt.date | None) -> AuditReport:
    store = ctx.experiment_store
    engine = None if store is None else store.engine
    return build_report(ctx.data_dir, engine, ctx.events_url, since, until)


def routes(site: Site) -> list[BaseRoute]:
    """``GET /audit`` behind the admin login."""

    async def audit(request: Request) -> Response:
        try:
            since, until = _query(request)
        except ValueError as exc:
            return _refused(request, 400, exc.args[0], exc.args[1])
        try:
            report = await run_in_threadpool(_report, site.context(), since, until)
        except LookupError as exc:
            return _refused(request, 503, str(exc))
        except (FeedValidationError, ConfigError, FileNotFoundError) as exc:
            return _refused(request, 503, f"the audit cannot be computed: {exc}")
        if _wants_json(request):
            return JSONResponse(report.as_dict())
        return HTMLResponse(render(report))

    return [Route(PATH, site.admin(audit), methods=["GET"])]


def openapi_paths() -> dict[str, Any]:
    """The audit's OpenAPI path: the page, its date range and its JSON form."""
    item = html_page(
        "The algorithm audit",
        "Price parity (one price per item and moment whoever asks), lawful reference "
        "prices (every reduction names its 30-day lowest), exposure fairness of "
        "recommendations (shares by category, brand and new items against purchases, Gini, "
        "coverage, popularity bias, by day) and privacy (raw shopper ids in the service's "
        "logs and tables, counted per place). `Accept: application/json` answers the same "
        "report as JSON (as `storefront audit --json`).",
    )
    get = item["get"]
    day = {"type": "string", "format": "date"}
    get["parameters"] = [
        {"name": "since", "in": "query", "required": False, "schema": day,
         "description": "First day (UTC), included. Default: the first record.",
         "example": "2025-06-01"},
        {"name": "until", "in": "query", "required": False, "schema": day,
         "description": "Last day (UTC), included. Default: the last record.",
         "example": "2025-06-28"},
    ]  # fmt: skip
    report_responses(
        get,
        "The audit report (see the README).",
        "A bad date (named in `fields`).",
        "The shop has no catalog feed yet, or its feeds are unreadable.",
    )
    return {PATH: item}
