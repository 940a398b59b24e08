"""The pages' common frame and parts: the navigation bar, tables that sort and search,
Plotly figures, money and percentages. Every page renders through :func:`page`."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from typing import Any

NAV = (("/dashboard", "Dashboard"), ("/pricing", "Pricing desk"), ("/audit", "Audit"))
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def esc(value: object) -> str:
    """``value`` as HTML text."""
    return html.escape("" if value is None else str(value))


def page(
    title: str,
    body: str,
    *,
    active: str | None = None,
    subtitle: str | None = None,
    scripts: Sequence[str] = (),
    styles: Sequence[str] = (),
) -> str:
    """A whole page: head with the bundled assets, the navigation, ``body``.

    Args:
        title: The page's heading and ``<title>``.
        body: The page's HTML.
        active: The navigation entry to mark (a path of :data:`NAV`).
        subtitle: A line under the heading (date range, data freshness).
        scripts: Extra bundled scripts (names under ``/assets/``).
        styles: Extra bundled stylesheets (names under ``/assets/``).
    """
    nav = "".join(
        f'<a href="{href}"{" class=active" if href == active else ""}>{esc(label)}</a>'
        for href, label in NAV
    )
    extra = "".join(f'<link rel=stylesheet href="/assets/{esc(s)}">' for s in styles)
    extra += "".join(f'<script src="/assets/{esc(s)}"></script>' for s in scripts)
    sub = f'<p class="subtitle">{esc(subtitle)}</p>' if subtitle else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Storefront ML</title>"
        '<link rel=icon href="data:,">'  # no favicon request (a 404 in the console)
        '<link rel=stylesheet href="/assets/app.css">'
        '<script src="/assets/plotly.min.js"></script>'
        f'<script src="/assets/tables.js"></script>{extra}</head><body>'
        f'<header><span class="brand">Storefront ML</span><nav>{nav}'
        '<a href="/docs">API</a></nav></header>'
        f"<main><h1>{esc(title)}</h1>{sub}{body}</main></body></html>"
    )


def login_page(next_path: str) -> str:
    """The admin login (the key is posted as JSON and exchanged for a cookie)."""
    target = next_path if next_path.startswith("/") and not next_path.startswith("//") else "/"
    body = (
        '<form id="login" class="card" data-next="' + esc(target) + '">'
        "<p>This page needs the shop's admin key "
        "(<code>state/serving/admin.key</code>, or <code>$STOREFRONT_ADMIN_KEY</code>).</p>"
        '<label>Admin key <input type="password" name="key" autocomplete="current-password">'
        '</label> <button type="submit">Log in</button><p class="error" role="alert"></p>'
        "</form>"
    )
    return page("Log in", body, scripts=["login.js"])


def card(title: str, content: str, note: str | None = None) -> str:
    """A titled box."""
    foot = f'<p class="note">{esc(note)}</p>' if note else ""
    return f'<section class="card"><h2>{esc(title)}</h2>{content}{foot}</section>'


def tiles(figures: Sequence[tuple[str, str, str | None]]) -> str:
    """Headline figures: (label, value, comparison line)."""
    parts = []
    for label, value, compare in figures:
        cmp = f'<span class="compare">{esc(compare)}</span>' if compare else ""
        parts.append(
            f'<div class="tile"><span class="label">{esc(label)}</span>'
            f'<span class="value">{esc(value)}</span>{cmp}</div>'
        )
    return f'<div class="tiles">{"".join(parts)}</div>'


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    table_id: str,
    search: bool = True,
    formats: dict[str, Any] | None = None,
    row_attrs: Any = None,
) -> str:
    """A table that sorts (click a heading) and searches (the box above it).

    Args:
        rows: The rows, as dictionaries.
        columns: (key, heading) pairs, in order.
        table_id: The table's HTML id.
        search: Whether to put a search box above it.
        formats: Per key, a function from the value to its text; the raw value is the
            cell's sort key.
        row_attrs: A function from a row to extra ``<tr>`` attributes (HTML).
    """
    formats = formats or {}
    head = "".join(f'<th data-key="{esc(k)}">{esc(h)}</th>' for k, h in columns)
    lines = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            text = formats[key](value) if key in formats else _plain(value)
            sort = value if isinstance(value, int | float) and value == value else None
            sort_attr = f' data-sort="{sort}"' if sort is not None else ""
            cells.append(f"<td{sort_attr}>{text}</td>")
        attrs = f" {row_attrs(row)}" if row_attrs else ""
        lines.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    box = (
        f'<input type="search" class="table-search" data-table="{esc(table_id)}" '
        'placeholder="Search…" aria-label="Search the table">'
        if search
        else ""
    )
    return (
        f'{box}<div class="table-wrap"><table id="{esc(table_id)}" class="sortable">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>"
    )


def _plain(value: object) -> str:
    if isinstance(value, float):
        return esc(f"{value:,.2f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return esc(f"{value:,}")
    if isinstance(value, list | tuple):
        return esc(", ".join(str(v) for v in value))
    return esc(value)


def figure(fig: Any, div_id: str) -> str:
    """A Plotly figure as a ``<div>`` (Plotly.js is loaded once by :func:`page`)."""
    return str(
        fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    )


def money(value: float | None, currency: str = "") -> str:
    """``1,234.50`` (with the currency's code or symbol in front when given)."""
    if value is None or value != value:
        return "–"
    return f"{currency}{value:,.2f}" if currency else f"{value:,.2f}"


def percent(value: float | None, digits: int = 1) -> str:
    """``12.3%`` from 0.123."""
    if value is None or value != value:
        return "–"
    return f"{100 * value:.{digits}f}%"


def when(moment: dt.datetime | dt.date | None) -> str:
    """A moment as ``2026-12-02 10:15 UTC`` (a date as ``2026-12-02``)."""
    if moment is None:
        return "–"
    if isinstance(moment, dt.datetime):
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return moment.isoformat()


def data_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script type="application/json">``."""
    return json.dumps(value, default=str).replace("</", "<\\/")
