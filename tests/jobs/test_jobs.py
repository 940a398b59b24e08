"""Jobs return reports (the CLI prints them, tests assert on them) and never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.quickstart import PRINTERS
from jobs import data, quickstart
from storefront.workspace import Workspace, WorkspaceError


def test_simulate_returns_the_feeds_it_wrote(tmp_path: Path, capsys) -> None:
    config = tmp_path / "small.yaml"
    config.write_text("days: 20\nn_users: 100\ncatalog: {n_items: 20}\n")
    report = data.simulate(tmp_path / "shop", config)
    assert report.data_dir == Workspace(tmp_path / "shop").root
    assert report.feeds.events is not None and report.feeds.events.height > 0
    assert report.seconds > 0
    assert capsys.readouterr().out == ""  # results are the CLI's to print
    checked = data.validate(tmp_path / "shop", ("events", "catalog"))
    assert checked.feeds.catalog is not None
    assert checked.feeds.catalog.equals(report.feeds.catalog)


def test_jobs_refuse_a_missing_shop(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        data.validate(tmp_path / "nowhere")


def test_every_quickstart_step_has_a_printer(tmp_path: Path) -> None:
    steps = quickstart.plan(tmp_path / "shop", serve=True)
    assert [s.title for s in steps][:2] == ["simulate", "validate"]
    assert {s.kind for s in steps} <= PRINTERS.keys()
    assert not (tmp_path / "shop").exists()  # planning writes nothing
