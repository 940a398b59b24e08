"""The ``storefront`` command line: parse, call a job (:mod:`jobs`), print its report.

Every command that works on a shop takes ``--data-dir DIR``; errors in the user's input
end the command with a message naming what was wrong and a non-zero exit code. Each
command group lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

import logging
import os
import sys

from cli import (  # noqa: F401
    audit,
    data,
    experiments,
    features,
    inventory,
    kpi,
    models,
    pricing,
    quickstart,
    retrain,
    serve,
    train,
)
from cli.common import app

__all__ = ["app", "run"]


def run() -> None:
    """Console entry point: run the app, then leave without interpreter teardown.

    DuckDB (under Feast's offline store) prints a screen of "nanobind: leaked ..." lines
    when the interpreter tears its modules down; everything has been written and flushed
    by then, so the process ends straight after the command instead.
    """
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
