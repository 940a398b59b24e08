"""Soak and burst benchmark of ``POST /recommend`` on the real server, open loop.

Usage: .venv/bin/python benchmarks/soak.py [--data-dir data/feeds] [--rate 50]
       [--minutes 10] [--burst-factor 2] [--burst-seconds 20] [--config serving.yaml]
Starts ``storefront serve`` on a trained shop (as ``benchmarks/serving.py``), then a
separate client process sends requests at ``--rate`` (default: the sustainable rate of
``benchmarks/serving.py`` in docs/benchmarks.md, 50 requests/s on 1 worker) for
``--minutes``, then ``--burst-factor`` times that rate for ``--burst-seconds``, then
the rate again for a minute. Meanwhile the worker's resident memory is sampled (psutil,
else /proc). Reports the steady phase's errors and latency, the worker's memory growth,
the burst's shed share (503 with ``Retry-After``) and p50 / p99 of its successful
answers, and the seconds after the burst until latency is back to normal (three 1-s
windows in a row with p95 within twice the steady p95 + 5 ms and no errors). Prints a
summary, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (first: keeps this folder off the import path)
import numpy as np

from jobs.service import start_service, stop_service
from storefront.config import default_data_dir

HERE = Path(__file__).resolve().parent
SUSTAINABLE_RPS = 50.0
"""``max_rps_p99_under_25ms`` of benchmarks/serving.py, 1 worker (docs/benchmarks.md)."""
TIMEOUT_S = 30.0
MAX_IDLE_S = 4.0
"""Idle connections older than this are closed, not reused (the server's keep-alive
timeout is 5 s; an HTTP client library does the same)."""
AFTER_SECONDS = 60.0
WINDOW_S = 1.0


def _bench_serving():  # benchmarks/serving.py (its name would shadow the serving package)
    spec = importlib.util.spec_from_file_location("bench_serving", HERE / "serving.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


async def _run(port: int, bodies: list[bytes], plan: list[tuple[str, float, float]]) -> list:
    """Send the phases of ``plan`` (name, rate, seconds) back to back, open loop; one
    record ``[phase, due_s, latency_ms, status]`` per request (status 0: no answer)."""
    bench = _bench_serving()
    idle: list = []
    records: list[list] = []
    start = time.perf_counter() + 0.05

    def pooled() -> Any:
        """An idle connection the server has not closed yet (it closes one idle for its
        keep-alive timeout, 5 s: reusing it would fail before the request is read)."""
        while idle:
            conn, since = idle.pop()
            if time.perf_counter() - since < MAX_IDLE_S:
                return conn
            conn.writer.close()
        return None

    async def one(k: int, phase: str, due: float) -> None:
        conn = None
        try:
            async with asyncio.timeout(TIMEOUT_S):
                conn = pooled() or bench.Connection(
                    *await asyncio.open_connection("127.0.0.1", port)
                )
                status = await conn.post("/recommend", bodies[k % len(bodies)])
            idle.append((conn, time.perf_counter()))
        except Exception:  # timeout, refused, reset
            status = 0
            if conn is not None:
                conn.writer.close()
        records.append([phase, due - start, (time.perf_counter() - due) * 1000, status])

    tasks, k, offset = [], 0, 0.0
    for phase, rate, seconds in plan:
        for j in range(int(rate * seconds)):
            due = start + offset + j / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(k, phase, due)))
            k += 1
        offset += seconds
    await asyncio.gather(*tasks)
    for conn, _ in idle:
        conn.writer.close()
    return records


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (psutil, else /proc)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1e6
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def _descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        kids = [int(p) for p in out.stdout.split()]
        return kids + [d for k in kids for d in _descendants(k)]


class Sampler:
    """Samples the worker's memory (the server's largest descendant) every second."""

    def __init__(self, pid: int) -> None:
        self.pid, self.samples = pid, []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def worker(self) -> int:
        tree = _descendants(self.pid) or [self.pid]
        return max(tree, key=lambda p: _rss_mb(p) if Path(f"/proc/{p}").exists() else 0)

    def _loop(self) -> None:
        self.started = time.perf_counter()
        pid = self.worker()
        while not self._stop.wait(1.0):
            try:
                self.samples.append((time.perf_counter() - self.started, _rss_mb(pid)))
            except Exception:
                pid = self.worker()

    def start(self) -> Sampler:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def _percentiles(latencies: list[float]) -> tuple[float | None, float | None]:
    if not latencies:
        return None, None
    return (
        round(float(np.percentile(latencies, 50)), 1),
        round(float(np.percentile(latencies, 99)), 1),
    )


def figures(records: list, rate: float, minutes: float, burst_seconds: float) -> dict:
    """The soak's and the burst's figures from the client's records."""
    steady = [r for r in records if r[0] == "steady"]
    burst = [r for r in records if r[0] == "burst"]
    after = [r for r in records if r[0] == "after"]
    ok = [r[2] for r in steady if r[3] == 200]
    p50, p99 = _percentiles(ok)
    tail = [r for r in steady if r[1] >= minutes * 60 - 60]  # the last minute: "normal"
    p95_normal = float(np.percentile([r[2] for r in tail if r[3] == 200] or [0.0], 95))
    limit = 2 * p95_normal + 5.0
    burst_ok = [r[2] for r in burst if r[3] == 200]
    b50, b99 = _percentiles(burst_ok)
    end = minutes * 60 + burst_seconds
    recovered, streak = None, 0
    for w in range(int(AFTER_SECONDS / WINDOW_S)):
        window = [r for r in after if end + w * WINDOW_S <= r[1] < end + (w + 1) * WINDOW_S]
        lat = [r[2] for r in window if r[3] == 200]
        fine = bool(window) and len(lat) == len(window) and np.percentile(lat, 95) <= limit
        streak = streak + 1 if fine else 0
        if streak == 3:
            recovered = round((w - 2) * WINDOW_S, 1)
            break

    def count(rows: list) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in rows:
            out[str(r[3])] = out.get(str(r[3]), 0) + 1
        return out

    statuses = count(burst)
    return {
        "rate_rps": rate,
        "minutes": minutes,
        "steady": {
            "requests": len(steady),
            "errors": sum(r[3] != 200 for r in steady),
            "error_rate": round(sum(r[3] != 200 for r in steady) / max(len(steady), 1), 5),
            "statuses": count(steady),
            "p50_ms": p50,
            "p99_ms": p99,
            "p95_last_minute_ms": round(p95_normal, 1),
        },
        "burst": {
            "rate_rps": round(len(burst) / burst_seconds, 1),
            "seconds": burst_seconds,
            "requests": len(burst),
            "statuses": statuses,
            "shed_share": round(statuses.get("503", 0) / max(len(burst), 1), 4),
            "no_answer": statuses.get("0", 0),
            "ok_p50_ms": b50,
            "ok_p99_ms": b99,
            "ok_max_ms": round(max(burst_ok), 1) if burst_ok else None,
        },
        "seconds_to_normal_after_burst": recovered,
        "normal_p95_limit_ms": round(limit, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--rate", type=float, default=SUSTAINABLE_RPS)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--burst-factor", type=float, default=2.0)
    parser.add_argument("--burst-seconds", type=float, default=20.0)
    parser.add_argument("--config", type=Path, help="serving YAML (default configs/serving.yaml)")
    parser.add_argument("--client-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    plan = [
        ("steady", args.rate, args.minutes * 60),
        ("burst", args.rate * args.burst_factor, args.burst_seconds),
        ("after", args.rate, AFTER_SECONDS),
    ]
    if args.client_port:  # the client process
        bodies = args.bodies.read_bytes().splitlines()
        print(json.dumps(asyncio.run(_run(args.client_port, bodies, plan))))
        return
    bench = _bench_serving()
    port = bench.free_port()
    tmp = Path(tempfile.mkdtemp(prefix="storefront-soak-"))
    (tmp / "bodies.jsonl").write_bytes(b"\n".join(bench.shoppers(args.data_dir, 5000)))
    server = start_service(args.data_dir, port, tmp / "server.log", config=args.config)
    sampler = Sampler(server.pid).start()
    try:
        asyncio.run(_run(port, bench.shoppers(args.data_dir, 200, seed=1), [("warm", 20, 5)]))
        time.sleep(1.0)
        rss_start = _rss_mb(sampler.worker())
        began = time.perf_counter() - sampler.started
        done = subprocess.run(
            [sys.executable, __file__, "--client-port", str(port), "--bodies",
             str(tmp / "bodies.jsonl"), "--rate", str(args.rate), "--minutes", str(args.minutes),
             "--burst-factor", str(args.burst_factor), "--burst-seconds", str(args.burst_seconds)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"client failed: {done.stderr[-3000:]}")
        records = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        sampler.stop()
        stop_service(server)
    out = figures(records, args.rate, args.minutes, args.burst_seconds)
    steady_end = began + args.minutes * 60
    burst_end = steady_end + args.burst_seconds

    def rss_at(t: float) -> float | None:
        near = [mb for s, mb in sampler.samples if abs(s - t) <= 1.5]
        return round(near[0], 1) if near else None

    out["worker_rss_mb"] = {
        "start": round(rss_start, 1),
        "end_of_steady": rss_at(steady_end),
        "growth_steady": (round(rss_at(steady_end) - rss_start, 1) if rss_at(steady_end) else None),
        "before_burst": rss_at(steady_end),
        "after_burst": rss_at(burst_end),
        "end": round(sampler.samples[-1][1], 1) if sampler.samples else None,
        "max": round(max(mb for _, mb in sampler.samples), 1) if sampler.samples else None,
    }
    s, b = out["steady"], out["burst"]
    print(
        f"steady {args.rate:g} req/s for {args.minutes:g} min: {s['requests']} requests, "
        f"{s['errors']} errors, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms"
    )
    print(
        f"burst {b['rate_rps']:g} req/s for {b['seconds']:g} s: shed {b['shed_share']:.1%}, "
        f"answered p50 {b['ok_p50_ms']} ms, p99 {b['ok_p99_ms']} ms, statuses {b['statuses']}"
    )
    print(f"back to normal {out['seconds_to_normal_after_burst']} s after the burst")
    print(f"worker RSS MB: {out['worker_rss_mb']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
