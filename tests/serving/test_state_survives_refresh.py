"""A feed refresh (``storefront simulate`` / ``storefront load`` on a live shop folder, what
a shop does every night) never touches the shop's state: published prices, the event
log, the pseudonym key, experiments with their exposures, forecasts, reports and the
feature store are byte-for-byte the same afterwards."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from experiments.config import Experiment
from experiments.records import Exposure
from experiments.store import ExperimentStore
from storefront.workspace import Workspace
from tests.serving.client import Server, TrainedShop, call, price_of

pytestmark = pytest.mark.slow
runner = CliRunner()


def _checksums(ws: Workspace) -> dict[str, str]:
    return {
        str(p.relative_to(ws.state)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in ws.state_paths()
    }


def _make_state(server: Server, shop: TrainedShop, copy: Path) -> Workspace:
    """Events through the running service, then a copy of the shop with an experiment,
    exposures and a report added (the copy keeps the session's shop intact)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    events = [
        {"event_id": uuid.uuid4().hex, "user_id": shop.known_user, "session_id": "s-refresh",
         "item_id": item, "event_type": "purchase", "timestamp": now, "quantity": 1,
         "unit_price": price_of(server.base, item)}
        for item in shop.known_items[:3]
    ]  # fmt: skip
    status, answer = call(server.base, "/events", {"events": events})
    assert status == 200, answer
    shutil.copytree(shop.data_dir, copy)
    ws = Workspace(copy)
    store = ExperimentStore.open(copy)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    store.create(
        Experiment.model_validate({
            "name": "refresh_check", "surface": "home_feed", "unit": "shopper",
            "variants": [{"name": "control", "weight": 0.5, "strategy": "popularity"},
                         {"name": "ranker", "weight": 0.5, "strategy": "ranker"}],
            "start": start, "stop": start + dt.timedelta(days=7),
            "primary_metric": "conversion",
        })
    )  # fmt: skip
    store.log_exposures(
        Exposure(request_id=f"r{i}", experiment="refresh_check", variant="control",
                 unit_id=f"p{i}", surface="home_feed", served_at=start, items=["a"])
        for i in range(5)
    )  # fmt: skip
    store.engine.dispose()
    report = runner.invoke(app, ["experiments", "report", "refresh_check", "--data-dir", str(copy)])
    assert report.exit_code == 0, report.output
    return ws


@pytest.mark.real_data
def test_refreshing_the_feeds_keeps_every_kind_of_state(
    server: Server, trained_shop: TrainedShop, tmp_path: Path
) -> None:
    ws = _make_state(server, trained_shop, tmp_path / "shop")
    before = _checksums(ws)
    kinds = {ws.event_log, ws.pseudonym_key, ws.experiments_db, ws.forecasts, ws.pricing,
             ws.reports, ws.feature_store}  # fmt: skip
    for kind in kinds:
        assert any(Path(ws.state, name).is_relative_to(kind) for name in before), kind
    old_events = ws.feed_file("events.parquet").read_bytes()

    small = tmp_path / "small.yaml"
    small.write_text("days: 20\nn_users: 200\ncatalog: {n_items: 30}\n")
    simulated = runner.invoke(app, ["simulate", "--data-dir", str(ws.root), "--config", str(small)])
    assert simulated.exit_code == 0, simulated.output
    assert ws.feed_file("events.parquet").read_bytes() != old_events  # the feeds did change
    assert _checksums(ws) == before

    loaded = runner.invoke(app, ["load", "online_retail", "--data-dir", str(ws.root)])
    assert loaded.exit_code == 0, loaded.output
    assert not ws.feed_file("ground_truth.npz").exists()  # feeds replaced whole
    assert _checksums(ws) == before
