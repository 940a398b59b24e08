"""``storefront kpi``: the dashboard's figures as tables or JSON, refused input named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from cli import app
from serving.events import EventStore
from storefront.workspace import Workspace

runner = CliRunner()


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["kpi", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_period_the_headline_and_the_three_views(feed_dir: Path) -> None:
    report = _json("--data-dir", str(feed_dir))
    events = pl.read_parquet(Workspace(feed_dir).feed_file("events.parquet"))
    last = events["timestamp"].max().date()
    assert report["period"] == {
        "since": str(last - dt.timedelta(days=27)),
        "until": str(last),
        "days": 28,
    }
    assert report["previous"]["until"] == str(last - dt.timedelta(days=28))
    keys = [f["key"] for f in report["figures"]]
    assert keys[:7] == [
        "gmv",
        "orders",
        "conversion",
        "aov",
        "repurchase_rate",
        "return_rate",
        "gross_margin",
    ]
    assert set(report["headline"]) == set(keys) and len(report["series"]) == 28
    assert report["shoppers"]["funnel"] and report["products"]["top"]
    assert len(report["marketing"]["promotion_response"]) == 3
    assert report["marketing"]["experiments"] == []  # the shop has no experiment store
    assert not Workspace(feed_dir).experiments_db.exists(), "reading creates no store"
    assert report["freshness"]["service_events"] == 0


def test_weeks_and_a_range(feed_dir: Path) -> None:
    report = _json(
        "--data-dir",
        str(feed_dir),
        "--since",
        "2025-06-01",
        "--until",
        "2025-06-28",
        "--by",
        "week",
    )
    assert [r["start"] for r in report["series"]] == [
        "2025-06-01",
        "2025-06-08",
        "2025-06-15",
        "2025-06-22",
    ]
    assert report["previous"] == {"since": "2025-05-04", "until": "2025-05-31", "days": 28}
    assert report["headline"]["gmv"]["previous"] == 0  # the shop opened on 2025-06-01
    assert report["headline"]["gmv"]["change"] is None


def test_the_table_names_each_figure_and_where_the_data_came_from(feed_dir: Path) -> None:
    result = runner.invoke(app, ["kpi", "--data-dir", str(feed_dir)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for text in (
        "GMV",
        "Average order value",
        "Gross margin",
        "by category",
        "by RFM segment",
        "funnel",
        "win-back",
        "top 10 items",
        "promotion response",
        "events feed:",
        "no currency is configured",
    ):
        assert text in result.output, text


def test_events_the_service_logged_are_counted(feed_dir: Path) -> None:
    before = _json("--data-dir", str(feed_dir))
    events = pl.read_parquet(Workspace(feed_dir).feed_file("events.parquet"))
    bought = events.filter(pl.col("event_type") == "purchase").tail(1)
    store = EventStore(f"sqlite:///{Workspace(feed_dir).event_log}")
    store.append(
        bought.with_columns(
            event_id=pl.lit("svc-1"), order_id=pl.lit("svc-o1"), quantity=pl.lit(2, pl.Int64)
        )
    )
    store.append(events.tail(1))  # the feed has it already: counted once
    store.close()
    after = _json("--data-dir", str(feed_dir))
    gain = after["headline"]["gmv"]["current"] - before["headline"]["gmv"]["current"]
    assert abs(gain - 2 * bought["unit_price"][0]) < 1e-6
    assert after["headline"]["orders"]["current"] == before["headline"]["orders"]["current"] + 1
    assert after["freshness"]["service_events"] == 2 and after["freshness"]["duplicates"] == 1


def test_bad_input_is_named(feed_dir: Path, tmp_path: Path) -> None:
    cases = [
        (["--since", "2025-02-30"], "since: '2025-02-30' is not a day"),
        (["--since", "2025-07-02", "--until", "2025-07-01"], "is before since"),
        (["--by", "month"], "by: 'month' is not one of day, week"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["kpi", "--data-dir", str(feed_dir), *args])
        assert result.exit_code == 1 and message in " ".join(result.output.split()), result.output
    missing = runner.invoke(app, ["kpi", "--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
