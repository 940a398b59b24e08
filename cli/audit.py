"""The algorithm audit: ``storefront audit`` prints price parity, reference prices,
exposure fairness and privacy checks as tables (or JSON)."""

from __future__ import annotations

import json
from typing import Annotated

import polars as pl
import typer

from cli.common import DataDir, app, cell, console, table, user_errors
from jobs import audit
from jobs.audit import AuditReport
from kpi.periods import parse_day


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _checks(report: AuditReport) -> None:
    p, r, e = report.parity, report.reference, report.exposure
    rows = [
        ["price parity", f"{p.quotes:,} quotes, {p.shared:,} shared moments",
         f"{p.divergences.height:,} divergences", "ok" if p.ok else "FAIL"],
        ["reference prices", f"{r.reduced:,} reduced, {r.shown_was_price:,} with was price",
         f"{r.violations.height:,} unlawful", "ok" if r.ok else "FAIL"],
        ["privacy", f"{report.raw_ids:,} raw ids, {len(report.privacy)} places",
         f"{report.leaks:,} found", "ok" if report.leaks == 0 else "FAIL"],
        ["exposure", f"{e.lists:,} lists, {e.impressions:,} impressions",
         f"Gini {_number(e.gini)}, coverage {_share(e.coverage)}, "
         f"popularity lift {_share(e.popularity_lift)}", "info"],
    ]  # fmt: skip
    table("audit", ["check", "checked", "found", "verdict"], rows)


def _frame(title: str, frame: pl.DataFrame, limit: int = 20) -> None:
    if frame.is_empty():
        return
    rows = [[cell(v) for v in row] for row in frame.head(limit).iter_rows()]
    table(f"{title} (first {min(limit, frame.height)} of {frame.height})", frame.columns, rows)


def _shares(title: str, frame: pl.DataFrame) -> None:
    rows = [
        [str(r["group"]), _share(r["exposure_share"]), _share(r["purchase_share"]),
         _number(r["ratio"], 2)]
        for r in frame.head(15).iter_rows(named=True)
    ]  # fmt: skip
    table(title, ["group", "exposure share", "purchase share", "ratio"], rows)


def print_report(report: AuditReport) -> None:
    """The report as tables."""
    _checks(report)
    _frame("price divergences", report.parity.divergences)
    _frame("unlawful reference prices", report.reference.violations)
    places = [[f"{p.kind} {p.name}", f"{p.searched:,}", f"{p.leaks:,}"] for p in report.privacy]
    table("raw shopper ids found", ["place", "searched", "raw ids"], places)
    _shares("exposure by category", report.exposure.by_category)
    _shares("exposure of new items", report.exposure.new_items)
    for note in report.notes:
        console.print(f"note: {note}")


@app.command("audit")
@user_errors
def audit_command(
    data_dir: DataDir = None,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: all).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    events_url: Annotated[
        str | None, typer.Option(help="The service's event log (default: the shop's own).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit with code 3 when a check fails (for CI).")
    ] = False,
) -> None:
    """Audit the service's records: every quote of an item at a moment was the same
    whoever asked (price parity), every price shown as reduced names its 30-day lowest,
    how recommendations spread exposure over categories, brands and new items, and that
    no raw shopper id is in the service's logs or tables."""
    report = audit.audit_report(
        data_dir, parse_day(since, "since"), parse_day(until, "until"), events_url
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print_report(report)
    if strict and not report.ok:
        raise typer.Exit(code=3)
