"""Privacy: no raw shopper id in the service's logs, exposures, outcomes or quotes.

The raw ids are those of the shop's feeds and of the service's event log (``user_id``,
``session_id``: the event log keeps them, by design, and is not searched). Each *place*
— a log file, a table of the experiment store — is split into id-like words (with and
without the separators ids carry: ``[\\w\\-.:]+``, ``[\\w\\-]+``, ``\\w+``) and

    leaks(place) = |raw ids ∩ words(place)|

counted per place; the expected count is zero everywhere. Only counts leave this
module, never an id: the audit's output must not leak either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

TOKENS = (re.compile(r"[\w\-.:]+"), re.compile(r"[\w\-]+"), re.compile(r"\w+"))


@dataclass(frozen=True)
class Place:
    """One place searched.

    Attributes:
        kind: ``log`` or ``table``.
        name: The file name or ``database.table``.
        searched: Words (log) or rows (table) searched.
        leaks: Raw ids found there.
    """

    kind: str
    name: str
    searched: int
    leaks: int


def tokens(text: str) -> set[str]:
    """Every id-like word of ``text`` (with and without the separators ids carry)."""
    return {t for pattern in TOKENS for t in pattern.findall(text)}


def search_logs(paths: Iterable[Path], raw_ids: set[str]) -> list[Place]:
    """Raw ids found in each log file."""
    places = []
    for path in paths:
        words = tokens(path.read_text(errors="replace"))
        places.append(Place("log", path.name, len(words), len(raw_ids & words)))
    return places


def search_tables(
    engine: sa.Engine, raw_ids: set[str], label: str, skip: Iterable[str] = ()
) -> list[Place]:
    """Raw ids found in the text cells of each table of a database.

    Args:
        engine: The database.
        raw_ids: Ids to look for.
        label: Prefix of each place's name (the database's name).
        skip: Tables not searched.
    """
    tables = sa.MetaData()
    tables.reflect(engine)
    places = []
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            if table.name in set(skip):
                continue
            words: set[str] = set()
            rows = 0
            for row in conn.execute(sa.select(table)):
                rows += 1
                for value in row:
                    if isinstance(value, str):
                        words |= tokens(value)
            places.append(Place("table", f"{label}.{table.name}", rows, len(raw_ids & words)))
    return places
