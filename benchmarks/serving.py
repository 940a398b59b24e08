"""Load benchmark of ``POST /recommend`` on the real server, open loop, on loopback.

Usage: .venv/bin/python benchmarks/serving.py [--data-dir data/feeds]
       [--rates 50,100,200,400] [--seconds 15] [--warmup 5] [--config serving.yaml]
       [--profile top.txt]
Starts ``storefront serve`` as a subprocess (the champion of $MLFLOW_TRACKING_URI or the
project's mlflow.db, the shop's feature store), then a separate client process sends
requests at fixed rates whatever the answers do (open loop: a slow answer does not
slow the sender, and latency counts from the moment a request was due). Shoppers come
from the shop's events: mostly recent shoppers, some unknown ones, on home, category,
product and cart pages. Prints a table, then one JSON object as the last line:
{"rates": [{"rps", "p50_ms", "p95_ms", "p99_ms", "error_rate", "cpu_ms"}],
"max_rps_p99_under_25ms", "cpus", "load"}: ``cpu_ms`` is the workers' CPU time at that
rate per request sent (one client process per rate), ``load`` the 1-minute load average
before and after (a shared machine shows in it). ``--profile FILE`` samples the BentoML
worker with py-spy (the thread holding the GIL, 100 Hz) over the measured rates (not
the warm-up) and writes its top functions (inclusive share of the samples) to FILE, the
raw stacks beside it (``FILE.raw``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import _path  # noqa: F401  (first: keeps this folder off the import path)
import numpy as np
import polars as pl

from jobs.service import start_service, stop_service
from storefront.config import default_data_dir
from storefront.workspace import Workspace

PY_SPY = Path(sys.executable).parent / "py-spy"
GOAL_MS = 25.0
TIMEOUT_S = 5.0
MAX_IDLE_S = 4.0
"""Idle connections older than this are closed, not reused (the server's keep-alive
timeout is 5 s; an HTTP client library does the same)."""
MAX_CONNECTIONS = 64


def shoppers(data_dir: Path, n: int, seed: int = 0) -> list[bytes]:
    """Request bodies: 85% recent shoppers (by activity), 15% unknown; pages mixed."""
    feeds = Workspace(data_dir)
    events = pl.read_parquet(
        feeds.feed_file("events.parquet"), columns=["user_id", "item_id", "timestamp"]
    )
    recent = events.filter(pl.col("timestamp") >= events["timestamp"].max() - pl.duration(days=14))
    users = recent["user_id"].to_list()
    items = recent["item_id"].to_list()
    categories = pl.read_parquet(feeds.feed_file("catalog.parquet"))["category"].unique().to_list()
    rng = random.Random(seed)
    bodies = []
    for k in range(n):
        user = rng.choice(users) if rng.random() < 0.85 else f"new-{k}"
        page = rng.random()
        context: dict[str, object] = {"page_type": "home"}
        if page < 0.15:
            context = {"page_type": "category", "category": rng.choice(categories)}
        elif page < 0.25:
            context = {"page_type": "product", "item_id": rng.choice(items)}
        elif page < 0.30:
            context = {"page_type": "cart", "cart_items": rng.sample(items, 2)}
        body = {"user_id": user, "k": 10, "context": context}
        bodies.append(json.dumps(body).encode())
    return bodies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Connection:
    """One keep-alive HTTP/1.1 connection (a minimal client: the load generator must
    cost far less CPU than the server it measures)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, path: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while size := int((await self.reader.readline()).strip() or b"0", 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        return status


async def _run_rate(port: int, bodies: list[bytes], rate: float, seconds: float) -> dict:
    """Send ``rate`` requests per second for ``seconds`` (evenly spaced), measure each
    from its due time; a request not answered within TIMEOUT_S is an error."""
    idle: list[tuple[Connection, float]] = []  # with the moment each was last used
    opened = 0
    latencies: list[float] = []
    errors = 0
    outcomes: Counter[str] = Counter()  # HTTP status, or the exception's class
    n = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(k: int, due: float) -> None:
        nonlocal opened, errors
        conn = None
        try:
            async with asyncio.timeout(TIMEOUT_S):
                while idle and conn is None:
                    conn, since = idle.pop()
                    if time.perf_counter() - since >= MAX_IDLE_S:  # the server may have
                        conn.writer.close()  # closed it (keep-alive 5 s): a client library
                        conn = None  # opens a new one too
                if conn is None:
                    opened += 1
                    conn = Connection(*await asyncio.open_connection("127.0.0.1", port))
                status = await conn.post("/recommend", bodies[k % len(bodies)])
            latencies.append((time.perf_counter() - due) * 1000)
            outcomes[str(status)] += 1
            if status != 200:
                errors += 1
            idle.append((conn, time.perf_counter()))
        except Exception as exc:  # timeout, refused, reset, a malformed answer: all errors
            errors += 1
            outcomes[type(exc).__name__] += 1
            if conn is not None:
                conn.writer.close()

    tasks = []
    for k in range(n):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*tasks)
    for conn, _ in idle:
        conn.writer.close()
    lat = np.array(latencies + [TIMEOUT_S * 1000] * errors)  # an error counts as a timeout
    return {
        "rps": rate,
        "requests": n,
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "error_rate": round(errors / max(n, 1), 4),
        "connections": opened,
        "outcomes": dict(sorted(outcomes.items())),
    }


def client(
    port: int, bodies: list[bytes], rates: list[float], seconds: float, warmup: float
) -> list[dict]:
    """The load generator (its own process): a warm-up (if any), then each rate in turn."""
    if warmup > 0:
        asyncio.run(_run_rate(port, bodies, 50, warmup))
    return [asyncio.run(_run_rate(port, bodies, rate, seconds)) for rate in rates if seconds > 0]


def worker_pids(server: subprocess.Popen) -> list[int]:
    """The BentoML worker processes of the service started as ``server``."""
    import psutil

    children = psutil.Process(server.pid).children(recursive=True)
    return [c.pid for c in children if "_bentoml_impl.worker" in " ".join(c.cmdline())]


def worker_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU seconds (user + system) the service's workers have used so far."""
    import psutil

    total = 0.0
    for pid in worker_pids(server):
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def start_profile(server: subprocess.Popen, raw: Path) -> subprocess.Popen:
    """py-spy sampling the (first) worker's GIL-holding thread until stopped."""
    pids = worker_pids(server)
    if not pids:
        raise RuntimeError("no BentoML worker process to profile")
    args = [str(PY_SPY), "record", "--pid", str(pids[0]), "--rate", "100", "--gil"]
    args += ["--nonblocking", "--format", "raw", "--output", str(raw)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame(frame: str) -> str:
    """``function (file:line)`` → ``function (file)``, the file short."""
    name, _, where = frame.partition(" (")
    where = where.rsplit(":", 1)[0].split("site-packages/")[-1]
    return f"{name} ({where.removeprefix(str(Path(__file__).parent.parent) + '/')})"


def top_functions(raw: Path, n: int = 60) -> list[tuple[float, str]]:
    """The ``n`` functions with most samples (inclusive share) in py-spy raw stacks."""
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        total += int(samples)
        for frame in {_frame(f) for f in stack.split(";")}:
            counts[frame] = counts.get(frame, 0) + int(samples)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
    return [(round(100 * c / max(total, 1), 1), f) for f, c in ranked]


def stop_profile(profiler: subprocess.Popen, raw: Path, out: Path) -> None:
    """Stop py-spy (it writes its samples on SIGINT) and write the top functions."""
    profiler.send_signal(2)
    profiler.wait(timeout=60)
    lines = [f"{share:5.1f}%  {frame}" for share, frame in top_functions(raw)]
    out.write_text("\n".join(["share of GIL samples (inclusive)", *lines]) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--config", type=Path, help="serving YAML (default configs/serving.yaml)")
    parser.add_argument("--profile", type=Path, help="py-spy the worker: top functions here")
    parser.add_argument("--client-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if args.client_port:  # the client process
        bodies = args.bodies.read_bytes().splitlines()
        print(json.dumps(client(args.client_port, bodies, rates, args.seconds, args.warmup)))
        return
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="storefront-serving-bench-"))
    (tmp / "bodies.jsonl").write_bytes(b"\n".join(shoppers(args.data_dir, 5000)))
    load = [os.getloadavg()[0]]
    server = start_service(args.data_dir, port, tmp / "server.log", config=args.config)
    profiler = None
    try:
        run_client(port, tmp, "50", 0.0, args.warmup)
        if args.profile:
            profiler = start_profile(server, args.profile.with_suffix(".raw"))
        figures = [measured(server, port, tmp, rate, args.seconds) for rate in rates]
    finally:
        if profiler is not None:
            stop_profile(profiler, args.profile.with_suffix(".raw"), args.profile)
        stop_service(server)
    load.append(os.getloadavg()[0])
    report(figures, [round(x, 2) for x in load])


def run_client(port: int, tmp: Path, rates: str, seconds: float, warmup: float) -> list[dict]:
    """One client process (its figures per rate)."""
    done = subprocess.run(
        [sys.executable, __file__, "--client-port", str(port), "--bodies",
         str(tmp / "bodies.jsonl"), "--rates", rates, "--seconds", str(seconds),
         "--warmup", str(warmup)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"client failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured(server: subprocess.Popen, port: int, tmp: Path, rate: float, seconds: float) -> dict:
    """One rate's figures with the workers' CPU per request sent (``cpu_ms``)."""
    cpu = worker_cpu_seconds(server)
    (figures,) = run_client(port, tmp, str(rate), seconds, 0.0)
    cpu = worker_cpu_seconds(server) - cpu
    return figures | {"cpu_ms": round(1000 * cpu / max(figures["requests"], 1), 2)}


def report(figures: list[dict], load: list[float]) -> None:
    """The table, then the JSON line."""
    print(f"{'rps':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'cpu ms':>7}")
    for f in figures:
        cells = (f["p50_ms"], f["p95_ms"], f["p99_ms"])
        print(
            f"{f['rps']:>6.0f} "
            + " ".join(f"{c:>8.2f}" for c in cells)
            + f" {f['error_rate']:>7.2%} {f['cpu_ms']:>7.2f}"
        )
    good = [f["rps"] for f in figures if f["p99_ms"] <= GOAL_MS and f["error_rate"] == 0]
    keys = ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate", "cpu_ms", "outcomes")
    rows = [{k: f[k] for k in keys} for f in figures]
    best = max(good) if good else None
    print(json.dumps({"rates": rows, "max_rps_p99_under_25ms": best, "cpus": os.cpu_count(),
                      "load": load}))  # fmt: skip


if __name__ == "__main__":
    main()
