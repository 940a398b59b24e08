"""Simulator speed at the default size and at 4x (users, items and sessions scaled).

Usage: .venv/bin/python benchmarks/simulate.py [--config configs/simulation.yaml]
Prints a line per size, then one JSON object as the last line:
{"events_1x", "seconds_1x", "events_4x", "seconds_4x"}.
Times cover the simulation and building + validating the five feeds (not disk writes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from simulator import SimulationConfig, simulate
from storefront.config import load_config


def run(cfg: SimulationConfig) -> tuple[int, float]:
    started = time.perf_counter()
    sim = simulate(cfg)
    return sim.feeds.events.height, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args()
    cfg = load_config(SimulationConfig, args.config, name="simulation")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    figures: dict[str, float | int] = {}
    for factor in (1, 4):
        events, seconds = run(cfg.scaled(factor))
        print(f"{factor}x: {events:,} events in {seconds:.1f} s ({events / seconds:,.0f} events/s)")
        figures[f"events_{factor}x"] = events
        figures[f"seconds_{factor}x"] = round(seconds, 2)
        figures[f"events_per_second_{factor}x"] = round(events / seconds)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
