"""The pricing team's workflow from the command line, on a small simulated shop:
train demand and elasticity, propose, read the report, approve, audit, stock alerts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from features.build import build_features
from features.config import FeatureConfig
from simulator import TRUTH_FILE, SimulationConfig, simulate
from storefront.feeds import write_feeds
from storefront.workspace import Workspace
from training.pricing.actions import item_state_at
from training.pricing.config import PricingConfig
from training.pricing.guardrails import (
    ItemState,
    candidates,
    manual_violations,
    round_to_ending,
    violations,
)
from training.pricing.inputs import list_prices
from training.pricing.ledger import prices_in_force, read_ledger
from training.pricing.pipeline import item_state

pytestmark = pytest.mark.slow


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def shop(make_config: Callable[..., SimulationConfig], tmp_path_factory) -> Path:
    sim = simulate(make_config(days=90))
    path = tmp_path_factory.mktemp("pricing") / "feeds"
    write_feeds(sim.feeds, path, side_files={TRUTH_FILE: sim.truth.save})
    build_features(path, FeatureConfig())
    configs = path.parent
    (configs / "demand.yaml").write_text("horizon: 14\nrounds: 60\nmin_child_samples: 10\n")
    (configs / "elasticity.yaml").write_text("rounds: 60\n")
    _run("train", "demand", "--data-dir", str(path), "--config", str(configs / "demand.yaml"))
    _run("train", "elasticity", "--data-dir", str(path),
         "--config", str(configs / "elasticity.yaml"))  # fmt: skip
    return path


def test_propose_report_approve_and_audit(shop: Path) -> None:
    output = _run("price", "propose", "--data-dir", str(shop))
    proposal_id = re.search(r"proposal (\S+) \(proposed\)", output).group(1)
    folder = Workspace(shop).proposals
    table = pl.read_parquet(folder / f"{proposal_id}.parquet")
    assert table.height > 250
    cfg = PricingConfig()
    assert all(not violations(r["price"], item_state(r), cfg) for r in table.iter_rows(named=True)
               if "no_allowed_price" not in r["reasons"])  # fmt: skip
    report = (folder / f"{proposal_id}.html").read_text()
    for section in ("Elasticity by category", "Expected profit over price", "Forecast fans"):
        assert section in report
    assert report.count("data:image/png;base64") >= 3
    assert read_ledger(shop).is_empty(), "nothing is published before approval"

    _run("price", "approve", proposal_id, "--data-dir", str(shop), "--by", "pricing-lead")
    published = prices_in_force(shop, dt.datetime.now(dt.UTC))
    assert published.height == table.height
    assert set(published["by"]) == {"pricing-lead"}
    again = CliRunner().invoke(app, ["price", "approve", proposal_id, "--data-dir", str(shop)])
    assert again.exit_code == 1 and "already published" in again.output
    assert read_ledger(shop).height == table.height
    assert "pricing-lead" in _run("price", "history", "--data-dir", str(shop))


def _fail(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 1, result.output
    return result.output


def _proposed(output: str) -> str:
    return re.search(r"proposal (\S+) \(proposed\)", output).group(1)


def _in_force(shop: Path) -> dict[str, float]:
    now = dt.datetime.now(dt.UTC)
    return dict(prices_in_force(shop, now).select("item_id", "price").iter_rows())


def _a_price_within_the_guardrails(shop: Path, items: list[str]) -> tuple[ItemState, float]:
    cfg, now = PricingConfig(), dt.datetime.now(dt.UTC)
    for item in items:
        state = item_state_at(shop, item, now)
        moves = [p for p in candidates(state, cfg) if p != state.current_price]
        allowed = [p for p in moves if not manual_violations(p, state, cfg)]
        if allowed:
            return state, allowed[0]
    raise AssertionError("no item has a price it may move to")


def test_reject_set_rollback_and_history(shop: Path) -> None:
    data = ("--data-dir", str(shop))
    first = _proposed(_run("price", "propose", *data))
    _run("price", "approve", first, *data, "--by", "lead")
    table = pl.read_parquet(Workspace(shop).proposals / f"{first}.parquet")
    second = _proposed(_run("price", "propose", *data))
    assert "rejected" in _run("price", "reject", second, "--reason", "too aggressive", *data)
    assert "rejected by" in _fail("price", "approve", second, *data)

    state, allowed = _a_price_within_the_guardrails(shop, table["item_id"].to_list())
    item, today = state.item_id, state.current_price
    too_high = round_to_ending(today * 1.35, 0.99)
    entries = read_ledger(shop).height
    refused = _fail("price", "set", item, str(too_high), "--reason", "test", *data)
    assert f"refused: max_daily_change: {too_high:.2f} is" in refused
    assert f"above today's {today:.2f} (limit 10%)" in refused
    assert read_ledger(shop).height == entries, "a refused override writes nothing"
    assert "no item 'ghost'" in _fail("price", "set", "ghost", "9.99", "--reason", "x", *data)
    _run("price", "set", item, str(allowed), "--reason", "competitor match", "--by", "carol",
         *data)  # fmt: skip
    assert _in_force(shop)[item] == allowed

    written = read_ledger(shop)
    _run("price", "rollback", "--to", first, "--reason", "undo the match", *data)
    assert _in_force(shop)[item] == table.filter(pl.col("item_id") == item)["price"][0]
    _run("price", "rollback", "--at", "2000-01-01T00:00+00:00", "--reason", "to the feed", *data)
    listed = dict(list_prices(shop, dt.datetime.now(dt.UTC)).iter_rows())
    assert _in_force(shop) == {i: listed[i] for i in _in_force(shop)}
    assert "no time zone" in _fail("price", "rollback", "--at", "2026-01-01", "--reason", "x",
                                   *data)  # fmt: skip
    ledger = read_ledger(shop)
    assert ledger.head(written.height).equals(written), "rollbacks append, never rewrite"
    assert set(ledger["kind"]) == {"publish", "reject", "override", "rollback"}

    history = CliRunner().invoke(app, ["price", "history", *data, "--item", item],
                                 env={"COLUMNS": "250"}).output  # fmt: skip
    for text in ("publish", "override", "rollback", "competitor match", "carol", f"{allowed:.2f}"):
        assert text in history, text
    everything = CliRunner().invoke(app, ["price", "history", *data, "--limit", "100000"],
                                    env={"COLUMNS": "250"}).output  # fmt: skip
    assert "reject" in everything and "too aggressive" in everything


def test_a_date_outside_the_forecasts_is_named(shop: Path) -> None:
    result = CliRunner().invoke(app, ["price", "propose", "--data-dir", str(shop),
                                      "--date", "2031-01-01"])  # fmt: skip
    assert result.exit_code == 1 and "outside the forecasts" in result.output
    result = CliRunner().invoke(app, ["price", "propose", "--data-dir", str(shop),
                                      "--date", "tomorrow"])  # fmt: skip
    assert result.exit_code == 1 and "date" in result.output


def test_inventory_alerts_table(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.parquet"
    output = _run("inventory", "alerts", "--data-dir", str(shop), "--out", str(out))
    assert "at risk of a stock-out" in output and "overstocked" in output
    alerts = pl.read_parquet(out)
    assert alerts.height > 250
    at_risk = alerts.filter(pl.col("status") == "stockout_risk")
    assert (at_risk["position"] < at_risk["reorder_point"]).all()
    assert (at_risk["suggested_order"] >= 1).all()
