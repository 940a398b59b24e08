"""The whole report on a simulated shop: its parts add up to its headline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from kpi.report import KpiSettings, build_report
from kpi.sources import load_shop, read_shop_feeds, shop_data
from simulator import Simulation
from storefront.feeds import write_feeds


@pytest.fixture(scope="module")
def shop(small_sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kpi") / "shop"
    write_feeds(small_sim.feeds, folder)
    return folder


@pytest.fixture(scope="module")
def report(shop: Path):
    return build_report(load_shop(shop, None), experiments=lambda: [{"name": "x"}])


def test_the_default_range_is_the_last_28_days_beside_the_28_before(report, small_sim) -> None:
    last = small_sim.feeds.events["timestamp"].max().date()
    assert report.period.until == last and report.period.days == 28
    assert report.previous.until == report.period.since - dt.timedelta(days=1)
    assert report.previous.days == 28 and report.series.height == 28


def test_the_headline_is_the_events_own_sum(report, small_sim) -> None:
    events = small_sim.feeds.events.filter(report.period.contains(pl.col("timestamp")))
    bought = events.filter(pl.col("event_type") == "purchase")
    gmv = (bought["quantity"] * bought["unit_price"]).sum()
    assert report.headline["gmv"]["current"] == pytest.approx(gmv)
    assert report.headline["orders"]["current"] == bought["order_id"].n_unique()
    returned = events.filter(pl.col("event_type") == "return")["quantity"].sum()
    assert report.headline["return_rate"]["current"] == pytest.approx(
        returned / bought["quantity"].sum()
    )


def test_every_breakdown_adds_up_to_the_headline(report) -> None:
    gmv, before = report.headline["gmv"]["current"], report.headline["gmv"]["previous"]
    for table in (report.series, report.by_category, report.by_segment, report.new_vs_returning):
        assert table["gmv"].sum() == pytest.approx(gmv)
        assert table["gmv_previous"].sum() == pytest.approx(before)
    assert report.items["gmv"].sum() == pytest.approx(gmv)
    assert report.new_vs_returning["buyers"].sum() == report.headline["buyers"]["current"]
    assert report.series["orders"].sum() >= report.headline["orders"]["current"]
    assert (
        report.win_back["current"] == report.lifecycle.filter(pl.col("win_back"))["shoppers"].sum()
    )
    assert report.top_items["gmv"].to_list() == sorted(report.top_items["gmv"], reverse=True)


def test_the_views_are_there_and_the_json_is_strict(report) -> None:
    assert report.funnel["step"].to_list() == ["view", "add_to_cart", "purchase"]
    assert set(report.lifecycle["stage"]) >= {"new", "active", "at_risk", "dormant"}
    assert report.stock["tracked"] and report.promotion.height == 3
    assert report.experiments == [{"name": "x"}]
    text = json.dumps(report.as_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["period"]["days"] == 28 and back["headline"]["gmv"]["current"] > 0
    assert back["shoppers"]["win_back"] == report.win_back
    assert back["currency"] is None


def test_weeks_and_an_explicit_range(shop: Path, report) -> None:
    data = load_shop(shop, None)
    weekly = build_report(data, report.period.since, report.period.until, "week")
    assert weekly.series.height == 4
    assert weekly.headline["gmv"] == report.headline["gmv"]
    one_day = build_report(data, report.period.until, report.period.until)
    assert (
        one_day.period.days == 1
        and one_day.previous.until == one_day.period.since - dt.timedelta(days=1)
    )
    with pytest.raises(ValueError, match="by"):
        build_report(data, by="month")


def test_events_only_the_service_logged_count_too(shop: Path, report) -> None:
    feeds = read_shop_feeds(shop)
    assert feeds.events is not None
    bought = feeds.events.filter(pl.col("event_type") == "purchase").tail(1)
    posted = bought.with_columns(
        event_id=pl.lit("svc-1"), order_id=pl.lit("svc-order"), quantity=pl.lit(3, pl.Int64)
    )
    replay = feeds.events.tail(1)  # also in the feed: counted once
    data = shop_data(shop, feeds, (pl.concat([posted, replay]), None, None))
    again = build_report(data, report.period.since, report.period.until)
    extra = 3 * bought["unit_price"][0]
    assert again.headline["gmv"]["current"] == pytest.approx(
        report.headline["gmv"]["current"] + extra
    )
    assert again.headline["orders"]["current"] == report.headline["orders"]["current"] + 1
    assert again.freshness.service_events == 2 and again.freshness.duplicates == 1


def test_settings_come_from_the_shops_yaml_files(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("overstock_cover_days: 12\n")
    found = KpiSettings.load(None, inventory, ["dormant"])
    assert found.overstock_cover_days == 12 and found.win_back_stages == ("dormant",)
    assert found.features.user.at_risk_days == 90
