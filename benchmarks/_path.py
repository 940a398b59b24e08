"""Imported first by every benchmark: take this folder off the import path, because the
script ``benchmarks/features.py`` would otherwise shadow the ``features`` package."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import datetime as dt  # noqa: E402
from typing import TypeVar  # noqa: E402

C = TypeVar("C")
BENCHMARK_START = dt.date(2025, 6, 1)
"""First day of the benchmarks' shop: pinned, so that the figures in docs/benchmarks.md
come back on any day (the simulator's history otherwise ends today)."""


def pinned(cfg: C) -> C:
    """A simulation config starting on :data:`BENCHMARK_START`, unless it names a date."""
    if getattr(cfg, "start_date", None) or getattr(cfg, "end_date", None):
        return cfg
    return cfg.model_copy(update={"start_date": BENCHMARK_START})  # type: ignore[attr-defined]
