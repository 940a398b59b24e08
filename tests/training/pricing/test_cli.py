"""The pricing team's workflow from the command line, on a small simulated shop:
train demand and elasticity, propose, read the report, approve, audit, stock alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from features.build import build_features
from features.config import FeatureConfig
from simulator import TRUTH_FILE, SimulationConfig, simulate
from storefront.cli import app
from storefront.feeds import write_feeds
from training.pricing.config import PricingConfig
from training.pricing.guardrails import violations
from training.pricing.pipeline import item_state
from training.pricing.publish import current_prices, price_history

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
    folder = shop / "pricing" / "proposals"
    table = pl.read_parquet(folder / f"{proposal_id}.parquet")
    assert table.height > 250
    cfg = PricingConfig()
    assert all(not violations(r["price"], item_state(r), cfg) for r in table.iter_rows(named=True)
               if "no_allowed_price" not in r["reasons"])  # fmt: skip
    report = (folder / f"{proposal_id}.html").read_text()
    for section in ("Elasticity by category", "Expected profit over price", "Forecast fans"):
        assert section in report
    assert report.count("data:image/png;base64") >= 3
    assert current_prices(shop).is_empty(), "nothing is published before approval"

    _run("price", "approve", proposal_id, "--data-dir", str(shop), "--by", "pricing-lead")
    published = current_prices(shop)
    assert published.height == table.height
    assert set(published["approved_by"]) == {"pricing-lead"}
    again = CliRunner().invoke(app, ["price", "approve", proposal_id, "--data-dir", str(shop)])
    assert again.exit_code == 1 and "already published" in again.output
    assert price_history(shop).height == table.height
    assert "pricing-lead" in _run("price", "history", "--data-dir", str(shop))


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
