"""``storefront experiments simulate``: simulated shoppers against the real service, two
experiments, their reports and the lifts the truth implies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from storefront.workspace import Workspace
from tests.serving.client import INGEST_KEY, Server, TrainedShop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    folder = tmp_path_factory.mktemp("traffic")
    (folder / "experiments.yaml").write_text(f"db_url: sqlite:///{folder / 'experiments.db'}\n")
    (folder / "serving.yaml").write_text(
        f"experiments_settings: {folder / 'experiments.yaml'}\nexperiments_refresh_seconds: 0.5\n"
    )
    (folder / "traffic.yaml").write_text(
        "shoppers: 80\nvisits_per_shopper: 1\nk: 5\npricing_items: 80\npricing_days: 3\n"
    )
    server = Server(trained_shop, folder / "server.log", folder / "serving.yaml").start()
    try:
        yield server, folder
    finally:
        server.kill()


def test_simulated_shoppers_fill_both_reports(
    setup, trained_shop: TrainedShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, folder = setup
    monkeypatch.setenv("STOREFRONT_INGEST_KEY", INGEST_KEY)  # the simulated shop's backend
    result = CliRunner().invoke(app, [
        "experiments", "simulate", "--data-dir", str(trained_shop.data_dir), "--url", server.base,
        "--traffic", str(folder / "traffic.yaml"), "--settings", str(folder / "experiments.yaml"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the truth implies" in result.output
    summary = json.loads((Workspace(trained_shop.data_dir).reports / "simulated.json").read_text())
    feed, pricing = summary["home_feed_ranker"], summary["pricing_optimiser"]
    assert set(feed["served_true_means"]) == {"control", "treatment"}
    assert set(pricing["true_effect"]) == {"current", "optimised"}
    for run in (feed, pricing):
        assert run["events"] > 0
        assert Path(run["report"]).exists()
        report = json.loads((Path(run["report"]).parent / "report.json").read_text())
        assert report["units"] > 10 and report["status"] == "stopped"
    assert 0 < feed["served_true_means"]["control"] < 1, "a chance of buying"
    effect = pricing["true_effect"]
    assert pricing["true_lift"] == pytest.approx(effect["optimised"] / effect["current"] - 1)
