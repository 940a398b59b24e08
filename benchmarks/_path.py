"""Imported first by every benchmark: take this folder off the import path, because the
script ``benchmarks/features.py`` would otherwise shadow the ``features`` package."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
