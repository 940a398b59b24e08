"""``storefront audit``: the four checks on a shop's records, as tables or JSON; a planted
divergence, unlawful reduction and leaked id are found, and no raw id is printed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from typer.testing import CliRunner

from audit.quotes import Quote, QuoteLog
from cli import app
from storefront.workspace import Workspace

runner = CliRunner()


def _plant(feed_dir: Path) -> tuple[str, str]:
    """Quotes with one divergence and one unlawful reduction, and a raw id in the log;
    returns the diverging item and the leaked id."""
    ws = Workspace(feed_dir)
    events = pl.read_parquet(ws.feed_file("events.parquet"))
    items = pl.read_parquet(ws.feed_file("catalog.parquet"))["item_id"].to_list()
    leaked = str(events["user_id"][0])
    at = events["timestamp"].max().replace(tzinfo=dt.UTC)
    ws.serving.mkdir(parents=True, exist_ok=True)
    ws.service_log.write_text(f"served price for {leaked}\n")
    log = QuoteLog(sa.create_engine(f"sqlite:///{ws.experiments_db}"), flush_seconds=0)
    log.append([
        Quote("r1", items[0], 10.0, None, False, at, "3fa9c2d1e0b4a6f7"),
        Quote("r2", items[0], 10.0, None, False, at, "0b4a6f73fa9c2d1e"),
        Quote("r3", items[1], 10.0, None, False, at, "3fa9c2d1e0b4a6f7"),
        Quote("r4", items[1], 8.0, None, False, at, "0b4a6f73fa9c2d1e"),  # divergence
        Quote("r5", items[2], 1.0, 999.0, True, at, None),  # a made-up "was" price
    ])  # fmt: skip
    return items[1], leaked


def test_json_lists_the_findings_without_a_raw_id(feed_dir: Path) -> None:
    item, leaked = _plant(feed_dir)
    result = runner.invoke(app, ["audit", "--data-dir", str(feed_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert leaked not in result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is False
    parity = report["parity"]
    assert (parity["quotes"], parity["shared_moments"]) == (5, 2)
    assert [(d["item_id"], d["prices"], d["requesters"]) for d in parity["divergences"]] == [
        (item, [8.0, 10.0], 2)
    ]
    reasons = [v["reason"] for v in report["reference_prices"]["violations"]]
    assert reasons == ["not_the_30_day_lowest"]
    places = {p["name"]: p["leaks"] for p in report["privacy"]["places"]}
    assert places["service.log"] == 1 and places["experiments.price_quotes"] == 0
    assert report["privacy"]["leaks"] == 1 and report["privacy"]["raw_ids"] > 100
    assert report["exposure"]["catalogue"] > 0 and report["exposure"]["lists"] == 0


def test_tables_strict_exit_and_refused_dates(feed_dir: Path) -> None:
    _, leaked = _plant(feed_dir)
    result = runner.invoke(app, ["audit", "--data-dir", str(feed_dir), "--strict"])
    assert result.exit_code == 3, result.output
    assert "price parity" in result.output and "FAIL" in result.output
    assert leaked not in result.output
    result = runner.invoke(app, ["audit", "--data-dir", str(feed_dir), "--since", "2031-01-01"])
    assert result.exit_code == 0 and "no price quotes logged" in result.output
    result = runner.invoke(app, ["audit", "--data-dir", str(feed_dir), "--until", "soon"])
    assert result.exit_code == 1 and "until" in result.output
