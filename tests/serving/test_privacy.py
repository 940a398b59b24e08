"""Privacy by construction: after simulated shoppers have used the real service, none of
the raw user ids or session ids they used is in the service's logs or in any table of
the experiment store (only their pseudonyms are)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from storefront.workspace import Workspace
from tests.serving.client import Server, TrainedShop

pytestmark = pytest.mark.slow
TOKENS = (re.compile(r"[\w\-.:]+"), re.compile(r"[\w\-]+"), re.compile(r"\w+"))


def _tokens(text: str) -> set[str]:
    """Every id-like word of ``text`` (with and without the separators ids carry)."""
    return {t for pattern in TOKENS for t in pattern.findall(text)}


def _texts(url: str) -> dict[str, set[str]]:
    """The id-like words of every text cell, by table, of a database."""
    engine = sa.create_engine(url)
    found: dict[str, set[str]] = {}
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            for table in tables.sorted_tables:
                words: set[str] = set()
                for row in conn.execute(sa.select(table)):
                    for value in row:
                        if value is not None and not isinstance(value, int | float):
                            words |= _tokens(str(value))
                found[table.name] = words
    finally:
        engine.dispose()
    return found


def _event_ids(url: str) -> set[str]:
    """Ids of the events already in an event log (none if it has no table yet)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text("SELECT event_id FROM events"))}
    except sa.exc.OperationalError:
        return set()
    finally:
        engine.dispose()


def test_no_raw_shopper_id_in_logs_or_experiment_store(
    trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("privacy")
    copy = folder / "shop"
    shutil.copytree(trained_shop.data_dir, copy)
    shop = dataclasses.replace(trained_shop, data_dir=copy)
    ws = Workspace(copy)
    for old in ws.serving.glob("service*.log*"):
        old.unlink()  # the copied shop's log is of other tests
    db = folder / "experiments.db"
    (folder / "experiments.yaml").write_text(f"db_url: sqlite:///{db}\n")
    (folder / "serving.yaml").write_text(
        f"experiments_settings: {folder / 'experiments.yaml'}\nexperiments_refresh_seconds: 0.5\n"
        "events:\n  require_ingest_key: false\n  price_tolerance: null\n"  # ids, not prices
    )
    (folder / "traffic.yaml").write_text(
        "shoppers: 80\nvisits_per_shopper: 1\nk: 5\npricing_items: 80\npricing_days: 3\n"
    )
    earlier = _event_ids(f"sqlite:///{ws.event_log}")  # the copied shop's, of other tests
    server = Server(shop, folder / "server.log", folder / "serving.yaml").start()
    try:
        settings = str(folder / "experiments.yaml")
        result = CliRunner().invoke(app, [
            "experiments", "simulate", "--data-dir", str(copy), "--url", server.base,
            "--traffic", str(folder / "traffic.yaml"), "--settings", settings,
        ])  # fmt: skip
        why = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
        assert result.exit_code == 0, result.output + why
    finally:
        server.kill()

    raw = _texts(f"sqlite:///{ws.event_log}")["events"]  # the event log keeps raw ids
    engine = sa.create_engine(f"sqlite:///{ws.event_log}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, user_id, session_id FROM events"))
        new = [(user, session) for event, user, session in rows if event not in earlier]
    engine.dispose()
    users, sessions = {u for u, _ in new}, {s for _, s in new}
    ids = {i for i in users | sessions if i}
    assert len(users) > 10 and len(sessions) > 10, "the traffic reached the service"
    assert ids <= raw
    # the simulated traffic's session ids are not made from user ids (no link back)
    derived = sorted(s for s in sessions if s and any(u and u in s for u in users))
    assert not derived, f"session ids derived from user ids: {derived[:5]}"

    stored = _texts(f"sqlite:///{db}")
    assert {"exposures", "outcomes"} <= set(stored), stored.keys()
    assert stored["exposures"] and stored["outcomes"], "the experiments logged"
    for table, words in stored.items():
        leaked = sorted(ids & words)
        assert not leaked, f"raw ids in the experiment store's {table}: {leaked[:5]}"

    logs: list[Path] = [folder / "server.log", *sorted(ws.serving.glob("service*.log*"))]
    assert len(logs) > 1, "the service writes its own (rotated) log"
    for log in logs:
        leaked = sorted(ids & _tokens(log.read_text(errors="replace")))
        assert not leaked, f"raw ids in {log.name}: {leaked[:5]}"


def test_the_service_log_rotates_by_size(tmp_path: Path) -> None:
    import logging

    from serving.config import LogConfig

    path = LogConfig(max_bytes=10_000, backups=2).install(tmp_path / "service.log")
    root = logging.getLogger()
    handler = next(h for h in root.handlers if getattr(h, "baseFilename", "") == str(path))
    try:
        for n in range(2_000):
            logging.getLogger("serving.test").warning("line %d of the rotation test", n)
    finally:
        root.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["service.log", "service.log.1", "service.log.2"], files
    assert all((tmp_path / f).stat().st_size <= 10_000 for f in files)
    assert "line 1999 " in (tmp_path / "service.log").read_text()
