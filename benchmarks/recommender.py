"""Recommenders on one split: baselines, sequential model and the re-ranked pipeline.

Usage: .venv/bin/python benchmarks/recommender.py
       --dataset simulator|online_retail|amazon_toys [--config configs/recommender.yaml]
       [--sequential-seconds S]
Builds the data set's feeds and feature store in a temporary folder, trains every model
on the same temporal split (train / 14-day validation / 14-day test, full ranking over
the catalogue) and prints a table, then one JSON object as the last line:
{"dataset", "ndcg@10": {model: value}, "recall@10", "recall@20", "coverage@10",
"train_s": {...}, ...}. ``amazon_toys`` is leave-one-out (see ``loaders/amazon_toys.py``).
``--sequential-seconds`` overrides the sequential model's time budget (for iterating).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import _path  # (first: keeps this folder off the import path; pins the shop's dates)

from features.build import build_features
from features.config import FeatureConfig
from loaders import load
from simulator import SimulationConfig, simulate
from storefront.config import load_config
from storefront.feeds import write_feeds
from training.recommender.config import RecommenderConfig, TrackingConfig
from training.recommender.pipeline import train_recommender

BASELINES = ("popularity", "itemknn", "ease")


def feeds_for(dataset: str, folder: Path) -> None:
    if dataset == "simulator":
        write_feeds(
            simulate(_path.pinned(load_config(SimulationConfig, name="simulation"))).feeds, folder
        )
    else:
        write_feeds(load(dataset).frames, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", choices=["simulator", "online_retail", "amazon_toys"], required=True
    )
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--sequential-seconds", type=float, default=None)
    args = parser.parse_args()
    cfg = load_config(RecommenderConfig, args.config, name="recommender")
    if args.sequential_seconds is not None:
        sequential = cfg.sequential.model_copy(update={"max_seconds": args.sequential_seconds})
        cfg = cfg.model_copy(update={"sequential": sequential})
    print(f"machine: {os.cpu_count()} cores; dataset: {args.dataset}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feeds"
        feeds_for(args.dataset, folder)
        started = time.perf_counter()
        build_features(folder, FeatureConfig())
        print(f"feature store built in {time.perf_counter() - started:.0f} s")
        cfg = cfg.model_copy(
            update={"tracking": TrackingConfig(tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}")}
        )
        started = time.perf_counter()
        report = train_recommender(folder, cfg, step=lambda s: print(f"  {s}", flush=True))
        total = time.perf_counter() - started
    results = report.results
    print(f"{'model':<12}{'ndcg@10':>10}{'recall@10':>11}{'recall@20':>11}{'mrr@10':>9}"
          f"{'cov@10':>8}{'train s':>9}")  # fmt: skip
    for model, m in results.items():
        print(f"{model:<12}{m['ndcg@10']:>10.4f}{m['recall@10']:>11.4f}{m['recall@20']:>11.4f}"
              f"{m['mrr@10']:>9.4f}{m.get('coverage@10', float('nan')):>8.4f}"
              f"{report.train_seconds[model]:>9.1f}")  # fmt: skip
    best = max(results[b]["ndcg@10"] for b in BASELINES)
    figures = {
        "dataset": args.dataset,
        "ndcg@10": {m: round(v["ndcg@10"], 4) for m, v in results.items()},
        "recall@10": {m: round(v["recall@10"], 4) for m, v in results.items()},
        "recall@20": {m: round(v["recall@20"], 4) for m, v in results.items()},
        "coverage@10": {
            m: round(v.get("coverage@10", float("nan")), 4) for m, v in results.items()
        },
        "train_s": report.train_seconds,
        "test_users": int(next(iter(results.values()))["users"]),
        "final_vs_best_baseline": round(results["final"]["ndcg@10"] / best - 1, 4),
        "pipeline_s": round(total, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
