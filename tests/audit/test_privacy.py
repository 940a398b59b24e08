"""The privacy search counts raw ids per place, without ever returning one."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from audit.privacy import search_logs, search_tables, tokens


def test_tokens_find_ids_with_and_without_separators() -> None:
    assert {"u-17", "u", "17", "s:9.x"} <= tokens("served u-17 in (s:9.x)")


def test_logs_and_tables_count_raw_ids_per_place(tmp_path: Path) -> None:
    raw = {"u000042", "sess-u000042-1", "u000007"}
    clean, leaky = tmp_path / "service.log", tmp_path / "service.log.1"
    clean.write_text("recommend failed for 3fa9c2d1e0b4a6f7; popular items answer\n")
    leaky.write_text("price for u000042 at sess-u000042-1\n")
    places = search_logs([clean, leaky], raw)
    assert [(p.name, p.leaks) for p in places] == [("service.log", 0), ("service.log.1", 2)]

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE outcomes (unit_id TEXT, n INTEGER)"))
        conn.execute(sa.text("CREATE TABLE quotes (requester TEXT)"))
        conn.execute(sa.text("INSERT INTO outcomes VALUES ('u000007', 1), ('ab12', 2)"))
        conn.execute(sa.text("INSERT INTO quotes VALUES ('9f00aa'), (NULL)"))
    found = {p.name: (p.searched, p.leaks) for p in search_tables(engine, raw, "db")}
    assert found == {"db.outcomes": (2, 1), "db.quotes": (2, 0)}
    assert all(not any(i in repr(p) for i in raw) for p in search_logs([leaky], raw))
