"""The loop's run history: one JSON line per run, appended, never rewritten."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one line (flushed and synced before returning)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def read(path: Path) -> list[dict[str, Any]]:
    """Every record, oldest first (none when the file does not exist)."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
