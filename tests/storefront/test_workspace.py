"""The shop folder: feeds apart from state, old layouts moved in, typos refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from simulator import TRUTH_FILE, Simulation
from storefront.feeds import read_feeds, write_feeds
from storefront.workspace import Workspace, WorkspaceError, workspace


def _old_layout(small_sim: Simulation, folder: Path) -> dict[str, bytes]:
    """A folder as the first layout left it: feeds and state side by side at the top."""
    scratch = folder.with_name(f"{folder.name}-scratch")
    write_feeds(small_sim.feeds, scratch, side_files={TRUTH_FILE: small_sim.truth.save})
    folder.mkdir()
    for path in Workspace(scratch).feeds.iterdir():
        path.rename(folder / path.name)
    contents = {
        "feature_store/state.json": b'{"built_through": "2026-01-01"}',
        "pricing/published.parquet": b"PAR1 ledger",
        "pricing/proposals/p1.json": b"{}",
        "forecasts/demand.parquet": b"PAR1 forecast",
        "serving/events.db": b"SQLite events",
        "serving/pseudonym.key": b"0123abcd",
        "experiments.db": b"SQLite experiments",
        "reports/home/report.json": b"{}",
    }
    for name, data in contents.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return contents


def test_paths_are_under_feeds_or_state(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "shop")
    state = [ws.feature_store, ws.forecasts, ws.pricing, ws.proposals, ws.serving]
    state += [ws.event_log, ws.pseudonym_key, ws.service_log, ws.experiments_db, ws.reports]
    assert all(p.is_relative_to(ws.state) for p in state)
    assert ws.feed_file("events.parquet").parent == ws.feeds
    assert not ws.feeds.is_relative_to(ws.state)
    assert not (tmp_path / "shop").exists()  # building paths does no I/O


def test_a_missing_folder_is_refused_unless_created(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace.open(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
    assert Workspace.open(tmp_path / "new", create=True).root.is_dir()


def test_old_layout_is_moved_in_losing_nothing(
    small_sim: Simulation, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "old"
    contents = _old_layout(small_sim, folder)
    with caplog.at_level(logging.INFO, logger="storefront.workspace"):
        feeds = read_feeds(folder)  # first use
    ws = Workspace(folder)
    assert feeds.events is not None and feeds.events.equals(small_sim.feeds.events)
    for name, data in contents.items():
        assert (ws.state / name).read_bytes() == data, name
    assert ws.feed_file(TRUTH_FILE).exists()
    assert sorted(p.name for p in folder.iterdir()) == ["feeds", "state", "workspace.json"]
    assert "old layout" in caplog.text and "pricing → state/pricing" in caplog.text


def test_old_and_new_copies_are_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "serving").mkdir(parents=True)
    (folder / "serving" / "pseudonym.key").write_text("old")
    ws = Workspace(folder)
    ws.serving.mkdir(parents=True)
    (ws.serving / "pseudonym.key").write_text("new")
    with pytest.raises(WorkspaceError, match="both old and new"):
        workspace(folder)
    assert (folder / "serving" / "pseudonym.key").read_text() == "old"
    assert (ws.serving / "pseudonym.key").read_text() == "new"
