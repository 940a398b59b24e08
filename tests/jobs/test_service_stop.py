"""A SIGTERM to the command serving the shop (``kill``, systemd's stop) stops the
service it started in its own session, as Ctrl-C does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVE = """
import subprocess, sys
from jobs.service import serve_until_stopped
service = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                           start_new_session=True)
print(service.pid, flush=True)
serve_until_stopped(service)
print("stopped", flush=True)
"""


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] not in ("Z", "X")
    except FileNotFoundError:
        return False


def _catches_sigterm(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def test_sigterm_stops_the_service_too() -> None:
    root = Path(__file__).resolve().parents[2]
    caller = subprocess.Popen(
        [sys.executable, "-c", SERVE], cwd=root, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    service = int(caller.stdout.readline())
    assert _alive(service)
    deadline = time.monotonic() + 30
    while not _catches_sigterm(caller.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the caller is waiting on the service
    caller.send_signal(signal.SIGTERM)
    assert caller.wait(timeout=60) == 0 and caller.stdout.read().strip() == "stopped"
    deadline = time.monotonic() + 10
    while _alive(service) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(service), "the service in its own session was stopped as well"
