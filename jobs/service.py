"""The service as a child process: start it, wait until it is ready, stop it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from storefront.config import PROJECT_ROOT

STOREFRONT = Path(sys.executable).parent / "storefront"


def start_service(
    data_dir: Path, port: int, log: Path, timeout: float = 180.0, config: Path | None = None
) -> subprocess.Popen:
    """``storefront serve`` on 127.0.0.1:``port`` in its own process group (serving YAML
    ``config`` if given), its output in ``log``; returns once ``/readyz`` answers.

    Raises:
        RuntimeError: It exited or was not ready in time (the log's tail says why).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [str(STOREFRONT), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    args += ["--config", str(config)] if config else []
    process = subprocess.Popen(
        args, cwd=PROJECT_ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "BENTOML_DO_NOT_TRACK": "True"},
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        time.sleep(0.5)
    stop_service(process)
    raise RuntimeError(f"the service was not ready in {timeout:.0f} s; see {log}")


def stop_service(process: subprocess.Popen) -> None:
    """Stop the service and its workers (the whole process group)."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=30)
