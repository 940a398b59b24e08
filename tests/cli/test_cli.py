"""The ``storefront`` command line, run as a user would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from storefront.workspace import Workspace
from training.pricing.ledger import prices_in_force

runner = CliRunner()


@pytest.fixture()
def small_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(
        "days: 45\nn_users: 500\ncatalog: {n_items: 60}\nbehaviour: {sessions_per_day: 60}\n"
    )
    return path


def test_simulate_writes_feeds_and_truth(tmp_path: Path, small_yaml: Path) -> None:
    out = tmp_path / "shop"
    result = runner.invoke(app, ["simulate", "--data-dir", str(out), "--config", str(small_yaml)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in Workspace(out).feeds.iterdir()} == {
        "events.parquet",
        "catalog.parquet",
        "inventory.parquet",
        "prices.parquet",
        "sales.parquet",
        "ground_truth.npz",
    }
    assert "events.parquet" in result.output


def test_validate_accepts_good_and_refuses_corrupt_feeds(feed_dir: Path) -> None:
    ok = runner.invoke(app, ["validate", "--data-dir", str(feed_dir)])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output

    path = Workspace(feed_dir).feed_file("catalog.parquet")
    pl.read_parquet(path).with_columns(
        base_price=pl.when(pl.int_range(pl.len()) == 12).then(0.0).otherwise("base_price")
    ).write_parquet(path)
    bad = runner.invoke(app, ["validate", "--data-dir", str(feed_dir)])
    assert bad.exit_code == 1
    assert "catalog.parquet, row 12, column 'base_price'" in " ".join(bad.output.split())


def test_validate_on_an_empty_directory_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no feed files" in result.output


def test_unknown_loader_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["load", "nope", "--data-dir", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "unknown loader 'nope'" in result.output
    assert not (tmp_path / "x").exists()


def test_bad_config_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("catalog: {n_items: lots}\n")
    result = runner.invoke(
        app, ["simulate", "--data-dir", str(tmp_path / "x"), "--config", str(path)]
    )
    assert result.exit_code == 1
    assert "catalog.n_items" in result.output


@pytest.mark.slow
def test_quickstart_simulates_validates_and_summarises(
    tmp_path: Path, small_yaml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a registry of its own: the serving tests' shop must stay the session store's champion
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    out = tmp_path / "feeds"
    result = runner.invoke(app, ["quickstart", "--data-dir", str(out), "--config", str(small_yaml)])
    assert result.exit_code == 0, result.output
    assert "quickstart done" in result.output
    assert "purchase events" in result.output
    assert "features built through" in result.output
    assert "final" in result.output and "registered version" in result.output
    assert "estimates kept for pricing" in result.output
    assert len(list(Workspace(out).proposals.glob("*.html"))) == 1
    assert "approved by quickstart" in result.output and "at risk of a stock-out" in result.output

    # the pricing team rolls the quickstart's prices back to the feed's, on the same shop
    in_force = prices_in_force(out, dt.datetime.now(dt.UTC))
    assert in_force.height > 0
    undo = ["--at", "2000-01-01T00:00+00:00", "--reason", "undo the demo"]
    rollback = runner.invoke(app, ["price", "rollback", *undo, "--data-dir", str(out)])
    assert rollback.exit_code == 0, rollback.output
    after = prices_in_force(out, dt.datetime.now(dt.UTC))
    changed = in_force.join(after, on="item_id", suffix="_after")
    assert (changed["price"] != changed["price_after"]).any()
    history = runner.invoke(app, ["price", "history", "--data-dir", str(out), "--limit", "500"])
    assert "rollback" in history.output and "undo the demo" in history.output


@pytest.mark.real_data
def test_load_writes_a_valid_feed_directory_and_reports_drops(tmp_path: Path) -> None:
    out = tmp_path / "retail"
    result = runner.invoke(app, ["load", "online_retail", "--data-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert {"non_product_code", "missing_customer", "kept"} <= set(result.output.split())
    check = runner.invoke(app, ["validate", "--data-dir", str(out)])
    assert check.exit_code == 0, check.output
    assert sorted(p.name for p in Workspace(out).feeds.iterdir()) == [
        "catalog.parquet",
        "events.parquet",
        "prices.parquet",
        "sales.parquet",
    ]
