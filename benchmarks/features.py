"""Feature store speed: pipeline throughput, materialization, online read latency.

Usage: .venv/bin/python benchmarks/features.py [--reads 1000] [--items 200]
Simulates the default shop (and 4x for the pipeline), builds its feature store in a
temporary folder, and measures online reads of one shopper plus ``--items`` items on
SQLite (embedded) and Redis (scale profile, started by scripts/services.sh). The
baseline is the same read through Feast by feature name (one value per item and feature)
instead of the packed item vectors the service uses. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _path  # (first: keeps this folder off the import path; pins the shop's dates)
import numpy as np

from features.build import build_features, compute_tables, reset_store
from features.config import FeatureConfig, StoreConfig, store_dir
from features.definitions import feast_objects
from features.online import OnlineFeatures
from features.store import open_store
from features.tables import ITEM
from simulator import SimulationConfig, simulate
from storefront.config import PROJECT_ROOT, load_config
from storefront.feeds import write_feeds


def pipeline_rate(factor: int) -> tuple[int, float]:
    feeds = simulate(
        _path.pinned(load_config(SimulationConfig, name="simulation")).scaled(factor)
    ).feeds
    started = time.perf_counter()
    compute_tables(feeds, FeatureConfig())
    seconds = time.perf_counter() - started
    print(f"pipeline {factor}x: {feeds.events.height:,} events in {seconds:.1f} s")
    return feeds.events.height, seconds


def latency(read: Any, users: list[str], items: list[str], reads: int, n: int) -> dict[str, float]:
    for k in range(50):  # warm up
        read(users[k % len(users)], items[:n])
    gc.collect()
    gc.freeze()
    times = []
    rng = np.random.default_rng(0)
    for k in range(reads):
        chosen = [items[i] for i in rng.choice(len(items), n, replace=False)]
        started = time.perf_counter()
        read(users[k % len(users)], chosen)
        times.append((time.perf_counter() - started) * 1000)
    gc.unfreeze()
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def named_read_materialized(store: Any, data_dir: Path) -> Any:
    """The by-name baseline needs the item features view online: materialize it once."""
    objects = feast_objects(store_dir(data_dir), dt.timedelta(days=400))
    view = next(o for o in objects if getattr(o, "name", "") == ITEM.name)
    view.online = True
    store.apply([view])
    store.materialize(
        start_date=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        end_date=dt.datetime.now(dt.UTC),
        feature_views=[ITEM.name],
    )
    return named_read(store)


def named_read(store: Any) -> Any:
    """Baseline: user and item features by name in one Feast call."""
    user = [f"user_features:{f.name}" for f in store.get_feature_view("user_features").features]
    item = [f"{ITEM.name}:{f.name}" for f in store.get_feature_view(ITEM.name).features]

    def read(user_id: str, item_ids: list[str]) -> dict:
        return store.get_online_features(
            features=user + item,
            entity_rows={"user_id": [user_id] * len(item_ids), "item_id": item_ids},
            full_feature_names=True,
        ).to_dict()

    return read


def start_redis() -> str | None:
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "services.sh"), "start"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        print(f"redis unavailable: {done.stderr[-500:]}")
        return None
    return dict(line.split("=", 1) for line in done.stdout.split())["STOREFRONT_TEST_REDIS"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    events_1x, seconds_1x = pipeline_rate(1)
    events_4x, seconds_4x = pipeline_rate(4)

    sim = simulate(_path.pinned(load_config(SimulationConfig, name="simulation")))
    users = sim.feeds.events["user_id"].unique().sort().to_list()[:1000]
    items = sim.feeds.catalog["item_id"].to_list()
    figures: dict[str, Any] = {
        "pipeline_events_per_s_1x": round(events_1x / seconds_1x),
        "pipeline_events_per_s_4x": round(events_4x / seconds_4x),
        "events_1x": events_1x,
        "events_4x": events_4x,
    }
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "feeds"
        write_feeds(sim.feeds, data_dir)
        report = build_features(data_dir, FeatureConfig())
        figures["materialize_s"] = report.seconds["materialize to the online store"]
        figures["build_s"] = round(sum(report.seconds.values()), 2)
        store = open_store(data_dir, FeatureConfig().store)
        packed = latency(OnlineFeatures(store).read, users, items, args.reads, args.items)
        print(f"sqlite packed read: {packed}")
        figures["online_p50_ms"], figures["online_p99_ms"] = packed["p50_ms"], packed["p99_ms"]
        named = latency(named_read_materialized(store, data_dir), users, items, 200, args.items)
        print(f"sqlite by-name read (baseline, 200 reads): {named}")
        figures["online_named_p50_ms"], figures["online_named_p99_ms"] = (
            named["p50_ms"], named["p99_ms"],
        )  # fmt: skip

        redis = start_redis()
        if redis is not None:
            cfg = FeatureConfig(
                store=StoreConfig(
                    project=f"bench_{uuid.uuid4().hex[:6]}",
                    online_store="redis",
                    redis_connection_string=redis,
                )
            )
            redis_dir = Path(tmp) / "redis_feeds"
            write_feeds(sim.feeds, redis_dir)
            build_features(redis_dir, cfg)
            timed = latency(
                OnlineFeatures(open_store(redis_dir, cfg.store)).read,
                users, items, args.reads, args.items,
            )  # fmt: skip
            print(f"redis packed read: {timed}")
            figures["online_redis_p50_ms"] = timed["p50_ms"]
            figures["online_redis_p99_ms"] = timed["p99_ms"]
            reset_store(redis_dir, cfg)
        else:
            figures["online_redis_p50_ms"] = figures["online_redis_p99_ms"] = None
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
