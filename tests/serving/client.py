"""HTTP helpers of the serving tests: the server subprocess and a tiny JSON client."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storefront.config import PROJECT_ROOT

ADMIN_KEY = "test-admin-key"
INGEST_KEY = "test-ingest-key"
ADMIN = {"x-api-key": ADMIN_KEY}
"""Headers of a call with the admin key."""
STOREFRONT = Path(sys.executable).parent / "storefront"


@dataclass(frozen=True)
class TrainedShop:
    """A shop with feeds, feature store, a registered recommender, a published price, a
    price approved for later and batch forecasts."""

    data_dir: Path
    tracking_uri: str
    run_id: str
    version: str
    known_user: str
    known_items: list[str]
    published_item: str
    pending_item: str
    """An item with a ledger price that takes effect in three days (feed price now)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(base: str, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST JSON (or raw bytes) with the ingest key (as the storefront's backend does;
    ``headers`` override); returns the status and the decoded answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", "x-ingest-key": INGEST_KEY, **(headers or {})}
    request = urllib.request.Request(base + path, data=data, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        request = urllib.request.Request(base + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


def price_of(base: str, item: str) -> float:
    """The price the service quotes for ``item`` now (what a purchase event carries)."""
    status, answer = call(base, "/price", {"item_ids": [item]})
    assert status == 200, answer
    return float(answer["prices"][0]["price"])


class Server:
    """``storefront serve`` in its own process group (so SIGKILL reaches its workers)."""

    def __init__(self, shop: TrainedShop, log: Path, config: Path | None = None) -> None:
        self.shop, self.log, self.config = shop, log, config
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> Server:
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": self.shop.tracking_uri,
            "STOREFRONT_ADMIN_KEY": ADMIN_KEY,
            "STOREFRONT_INGEST_KEY": INGEST_KEY,
            "BENTOML_DO_NOT_TRACK": "True",
        }
        args = [str(STOREFRONT), "serve", "--data-dir", str(self.shop.data_dir)]
        args += ["--port", str(self.port)]
        if self.config is not None:
            args += ["--config", str(self.config)]
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            if get(self.base, "/readyz")[0] == 200:
                return self
            time.sleep(0.5)
        self.kill()
        raise RuntimeError(f"server not ready in {timeout}s: {self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server; SIGKILL reaches every process of it (BentoML's workers
        outlive their arbiter otherwise), SIGTERM lets it shut down gracefully."""
        import psutil

        if self.process is None:
            return
        if self.process.poll() is None:
            tree = [self.process.pid]
            with contextlib.suppress(psutil.NoSuchProcess):
                tree += [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
            for pid in tree if sig == signal.SIGKILL else tree[:1]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in tree:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait(timeout=30)
            if sig == signal.SIGKILL:
                psutil.wait_procs([p for p in map(_process, tree[1:]) if p is not None], timeout=30)
        self.process = None


def _process(pid: int) -> object:
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
