"""The cost curve past one machine: the pipelines at 1x, 4x and 16x, locally and on Ray.

Usage: .venv/bin/python benchmarks/scale.py [--ray 127.0.0.1:6392] [--factors 1,4,16]
       [--base test|default] [--trials 4]

For each factor the simulator makes the shop (``--base test``: the test suite's small
shop, 3,000 shoppers, 300 items, 120 sessions a day over 60 days; ``default``:
configs/simulation.yaml) ``factor`` times larger (shoppers, items and sessions), then,
on each engine (local, and Ray at ``--ray``), times the stages: features build (the
engine-aware ``features.build.build_features``), train demand (the demand model's mean
and quantile boosters on the feature store's demand rows) and tune (``--trials`` Optuna
trials). Peak resident memory is sampled every 0.5 s: the driver with its children,
and, on Ray, this job's Ray workers (their ``RAY_JOB_ID``). Last line: one
JSON object with every figure and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import _path  # (first: keeps this folder off the import path; pins the shop's dates)
import polars as pl
import psutil

from features.build import build_features
from features.config import FeatureConfig
from simulator import SimulationConfig, simulate
from storefront.config import load_config
from storefront.engine import EngineConfig, RayConfig, connect
from storefront.feeds import write_feeds
from training.demand.config import DemandConfig
from training.demand.features import model_rows
from training.demand.model import DemandModel
from training.demand.pipeline import read_demand
from training.demand.tuning import tune_demand
from training.tuning import TuningConfig

MB = 1024 * 1024


def base_config(name: str) -> SimulationConfig:
    """The shop at 1x."""
    if name == "default":
        return _path.pinned(load_config(SimulationConfig, name="simulation"))
    base = SimulationConfig(start_date=_path.BENCHMARK_START, days=60, n_users=3000)
    base = base.model_copy(update={"catalog": base.catalog.model_copy(update={"n_items": 300})})
    return base.model_copy(
        update={"behaviour": base.behaviour.model_copy(update={"sessions_per_day": 120})}
    )


class PeakMemory:
    """Peak RSS (MB) of the driver's process tree and of this job's Ray workers."""

    def __init__(self, ray: Any | None) -> None:
        self.ray, self.driver, self.workers = ray, 0.0, 0.0
        self._pids: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _worker_pids(self) -> list[int]:
        """Ray worker processes of this job (their ``RAY_JOB_ID``; the local head runs
        without the dashboard that Ray's state API needs)."""
        job = self.ray.get_runtime_context().get_job_id()
        pids = []
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or [""]
            if not cmdline[0].startswith("ray::"):
                continue
            with suppress(psutil.Error):
                if process.environ().get("RAY_JOB_ID") == job:
                    pids.append(process.pid)
        return pids

    def _sample(self, tick: int) -> None:
        me = psutil.Process()
        tree = [me, *me.children(recursive=True)]
        self.driver = max(self.driver, sum(_rss(p) for p in tree) / MB)
        if self.ray is None:
            return
        if tick % 4 == 0:
            with suppress(Exception):
                self._pids = self._worker_pids()
        self.workers = max(self.workers, sum(_rss(psutil.Process(p)) for p in self._alive()) / MB)

    def _alive(self) -> list[int]:
        return [p for p in self._pids if psutil.pid_exists(p)]

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(0.5):
            self._sample(tick)
            tick += 1

    def __enter__(self) -> PeakMemory:
        self._sample(0)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


@contextmanager
def stage(figures: dict[str, Any], name: str, ray: Any | None) -> Iterator[None]:
    """Time the block and record its peak memory under ``name``."""
    started = time.perf_counter()
    with PeakMemory(ray) as peak:
        yield
    seconds = round(time.perf_counter() - started, 1)
    figures[name] = {"s": seconds, "driver_mb": round(peak.driver),
                     "workers_mb": round(peak.workers)}  # fmt: skip
    print(f"  {name}: {figures[name]}", flush=True)


def run_engine(
    data_dir: Path, engine: EngineConfig, trials: int, storage: str, ray: Any | None
) -> dict[str, Any]:
    """Features build, train demand and tune on one engine, in a copy of the shop."""
    figures: dict[str, Any] = {}
    cfg = DemandConfig(horizon=7, rounds=100, quantiles=[0.1, 0.5, 0.9])
    with stage(figures, "features", ray):
        build_features(data_dir, FeatureConfig(), engine=engine)
    rows = model_rows(read_demand(data_dir), 1, cfg)
    cutoff = rows["period_start"].max() - dt.timedelta(days=cfg.horizon)
    train = rows.filter(pl.col("period_start") <= cutoff)
    with stage(figures, "train_demand", ray):
        DemandModel(cfg, engine).fit(train)
    tuning = TuningConfig(trials=trials, storage=storage, study=f"scale-{uuid.uuid4().hex[:8]}")
    with stage(figures, "tune", ray):
        tune_demand(train, 1, cfg.model_copy(update={"rounds": 50, "tuning": tuning}), engine)
    figures["demand_rows"] = train.height
    return figures


def table(results: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = ["| factor | events | engine | simulate s | features s | train demand s | tune s | "
             "peak driver MB | peak Ray workers MB |",
             "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for factor, run in results.items():
        for name in ("local", "ray"):
            if name not in run:
                continue
            f = run[name]
            stages = [f[s] for s in ("features", "train_demand", "tune")]
            driver, workers = (max(s[k] for s in stages) for k in ("driver_mb", "workers_mb"))
            seconds = " | ".join(str(s["s"]) for s in stages)
            lines.append(f"| {factor}x | {run['events']:,} | {name} | {run['simulate_s']} | "
                         f"{seconds} | {driver} | {workers} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ray", default=os.environ.get("STOREFRONT_TEST_RAY", "127.0.0.1:6392"))
    parser.add_argument("--factors", default="1,4,16")
    parser.add_argument("--base", choices=["test", "default"], default="test")
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args()
    ray_engine = EngineConfig(engine="ray", ray=RayConfig(address=args.ray))
    ray = connect(ray_engine.ray)
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
          f"Ray cluster: {ray.cluster_resources().get('CPU', 0):.0f} CPUs", flush=True)  # fmt: skip
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        for factor in [int(f) for f in args.factors.split(",")]:
            started = time.perf_counter()
            feeds = simulate(base_config(args.base).scaled(factor)).feeds
            run: dict[str, Any] = {"simulate_s": round(time.perf_counter() - started, 1),
                                   "events": feeds.events.height}  # fmt: skip
            print(f"{factor}x: {run['events']:,} events, simulated in {run['simulate_s']} s")
            engines: list[tuple[str, EngineConfig, Any | None]] = [
                ("local", EngineConfig(), None), ("ray", ray_engine, ray)
            ]  # fmt: skip
            for name, engine, handle in engines:
                print(f" {name}:", flush=True)
                folder = Path(tmp) / f"{factor}x-{name}"
                write_feeds(feeds, folder)
                storage = f"sqlite:///{Path(tmp) / f'optuna-{factor}x-{name}.db'}"
                run[name] = run_engine(folder, engine, args.trials, storage, handle)
            results[str(factor)] = run
            del feeds
    print(table(results))
    figures = {"base": args.base, "trials": args.trials, "cpus": os.cpu_count(),
               "load_average_before": [round(x, 2) for x in load_before],
               "load_average_after": [round(x, 2) for x in os.getloadavg()],
               "factors": results}  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
