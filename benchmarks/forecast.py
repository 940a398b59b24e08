"""Demand forecast against seasonal naive on the last 28-period horizon.

Usage: .venv/bin/python benchmarks/forecast.py --dataset m5_tiny|breakfast_at_the_frat|simulator
       [--config configs/demand.yaml]
Builds the data set's feeds and feature store in a temporary folder, trains the demand
model on everything before the last horizon and judges it there. Last line:
{"dataset", "wape": {"model", "seasonal_naive"}, "rmsse": {...}, "pinball": {...}, "train_s"}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import _path  # (first: keeps this folder off the import path; pins the shop's dates)

from features.build import build_features
from features.config import FeatureConfig
from loaders import load
from simulator import SimulationConfig, simulate
from storefront.config import load_config
from storefront.feeds import write_feeds
from training.demand.config import DemandConfig
from training.demand.pipeline import train_demand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", choices=["m5_tiny", "breakfast_at_the_frat", "simulator"], required=True
    )
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args()
    cfg = load_config(DemandConfig, args.config, name="demand")
    print(f"machine: {os.cpu_count()} cores; dataset: {args.dataset}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feeds"
        if args.dataset == "simulator":
            feeds = simulate(_path.pinned(load_config(SimulationConfig, name="simulation"))).feeds
            write_feeds(feeds, folder)
        else:
            write_feeds(load(args.dataset).frames, folder)
        build_features(folder, FeatureConfig())
        cfg = cfg.model_copy(update={"tracking_uri": f"sqlite:///{Path(tmp) / 'mlflow.db'}"})
        report = train_demand(folder, cfg)
    model, naive = report.results["model"], report.results["seasonal_naive"]
    print(f"{'':16}{'WAPE':>8}{'RMSSE':>8}{'pinball':>9}")
    for name, m in (("model", model), ("seasonal naive", naive)):
        print(f"{name:16}{m['wape']:>8.4f}{m['rmsse']:>8.4f}{m['pinball']:>9.4f}")
    print(f"item-periods judged: {model['periods']:,.0f}; train {report.train_seconds:.1f} s")
    figures = {
        "dataset": args.dataset,
        **{
            metric: {"model": round(model[metric], 4), "seasonal_naive": round(naive[metric], 4)}
            for metric in ("wape", "rmsse", "pinball")
        },
        "train_s": report.train_seconds,
        "wape_vs_naive": round(model["wape"] / naive["wape"] - 1, 4),
        "periods": int(model["periods"]),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
