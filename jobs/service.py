"""The service as a child process: its keys, start it, wait until it is ready, stop it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storefront.config import PROJECT_ROOT
from storefront.workspace import workspace

STOREFRONT = Path(sys.executable).parent / "storefront"
ADMIN_KEY_ENV, INGEST_KEY_ENV = "STOREFRONT_ADMIN_KEY", "STOREFRONT_INGEST_KEY"
KEY_FILES = {ADMIN_KEY_ENV: "admin.key", INGEST_KEY_ENV: "ingest.key"}
"""The service's keys in the shop's ``state/serving/`` (the service reads the same files
when its environment and settings name none: ``serving.config``)."""


@dataclass(frozen=True)
class ServiceKeys:
    """The local service's keys and where they are kept."""

    admin: str
    """``X-API-Key`` of ``/admin/*``, ``/experiments/report`` and ``/reports/*``."""
    ingest: str
    """``X-Ingest-Key`` of ``POST /events``."""
    admin_file: Path
    ingest_file: Path

    def env(self) -> dict[str, str]:
        """The service's environment variables for these keys."""
        return {ADMIN_KEY_ENV: self.admin, INGEST_KEY_ENV: self.ingest}


def _key(path: Path) -> str:
    """The key in ``path``, made first (random, owner-only) when there is none."""
    if not path.is_file() or not path.read_text().strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_urlsafe(32))
        os.replace(tmp, path)
    path.chmod(0o600)
    return path.read_text().strip()


def service_keys(data_dir: Path) -> ServiceKeys:
    """The shop's local admin and ingest keys (``state/serving/admin.key`` and
    ``ingest.key``, made once, owner-only); ``$STOREFRONT_ADMIN_KEY`` and
    ``$STOREFRONT_INGEST_KEY`` win when set."""
    folder = workspace(data_dir).serving
    paths = {env: folder / name for env, name in KEY_FILES.items()}
    keys = {env: os.environ.get(env) or _key(path) for env, path in paths.items()}
    return ServiceKeys(
        keys[ADMIN_KEY_ENV], keys[INGEST_KEY_ENV], paths[ADMIN_KEY_ENV], paths[INGEST_KEY_ENV]
    )


def ingest_key(data_dir: Path) -> str | None:
    """The key to post events with: ``$STOREFRONT_INGEST_KEY``, else the shop's key file
    (none: ``None``)."""
    path = workspace(data_dir).serving / KEY_FILES[INGEST_KEY_ENV]
    found = os.environ.get(INGEST_KEY_ENV) or (path.read_text().strip() if path.is_file() else "")
    return found or None


def instance_home(data_dir: Path, port: int) -> Path:
    """BentoML's home of the service on ``port`` (``state/serving/instances/<port>``):
    its Prometheus multiprocess folder lies there, so two services on one host never
    share (BentoML empties that folder when a service starts, and ``/metrics`` sums
    every file in it)."""
    return workspace(data_dir).serving / "instances" / str(port)


def start_service(
    data_dir: Path,
    port: int,
    log: Path,
    timeout: float = 180.0,
    config: Path | None = None,
    keys: ServiceKeys | None = None,
) -> subprocess.Popen:
    """``storefront serve`` on 127.0.0.1:``port`` in its own process group (serving YAML
    ``config`` if given, the ``keys`` in its environment, its own BentoML home and so its
    own ``/metrics``: :func:`instance_home`), its output in ``log``; returns once
    ``/readyz`` answers.

    Raises:
        RuntimeError: It exited or was not ready in time (the log's tail says why).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [str(STOREFRONT), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    args += ["--config", str(config)] if config else []
    home = instance_home(data_dir, port)
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(keys.env() if keys else {}), "BENTOML_DO_NOT_TRACK": "True"}
    env["BENTOML_HOME"] = str(home)
    process = subprocess.Popen(
        args, cwd=PROJECT_ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True, env=env,
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


def serve_until_stopped(process: subprocess.Popen) -> int:
    """Wait for the service; Ctrl-C (SIGINT) or SIGTERM (``kill``, systemd's stop) stops
    it with its workers before returning (it runs in its own session, so a signal to
    the caller alone would leave it running). Returns the service's exit code."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop_service(process)
        return process.returncode
    finally:
        signal.signal(signal.SIGTERM, previous)
