"""Pricing against the simulator's truth: elasticity error, counterfactual units at +10%,
and 28 days of closed-loop profit against current prices and a guarded oracle.

Usage: .venv/bin/python benchmarks/pricing.py [--scale 1.0] [--days 28]
Simulates the default shop (configs/simulation.yaml) in a temporary folder, builds its
feature store, trains the demand model (forecasting the days after the data) and
estimates elasticities (DML and naive), then:
- elasticity MAE of both estimates against the true elasticities;
- cf_wmape_10pct: every item's units over the forecast days at +10% of its price,
  predicted (forecast × 1.1^elasticity) against the simulator's true expected units;
- closed loop: each day the optimiser proposes prices under configs/pricing.yaml and the
  simulator's true expected demand is booked (unlimited stock), against keeping today's
  prices and against the oracle (the best allowed price each day under the true demand).
- coverage: share of true elasticities inside the 95% intervals; the median standard
  error of the category estimates (most items lean on theirs) and the share of items
  estimated mostly from their own data;
Last line: {"elasticity_mae_naive", "elasticity_mae_dml", "elasticity_coverage_95",
"category_se_median", "share_own_data",
"cf_wmape_10pct", "profit_vs_current", "profit_vs_oracle", "guardrail_violations", ...}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import _path  # (first: keeps this folder off the import path; pins the shop's dates)
import numpy as np
import polars as pl

from features.build import build_features
from features.config import FeatureConfig
from simulator import SimulationConfig, simulate
from simulator.truth import GroundTruth
from storefront.config import load_config
from storefront.feeds import write_feeds
from storefront.progress import progress_bar
from training.demand.config import DemandConfig
from training.demand.forecast import read_forecasts
from training.demand.pipeline import train_demand
from training.elasticity.config import ElasticityConfig
from training.elasticity.pipeline import train_elasticity
from training.pricing.closed_loop import CURRENT, ORACLE, replay
from training.pricing.config import PricingConfig
from training.pricing.inputs import KEEP, item_states, priced_elasticities


def _timed(label: str, seconds: dict[str, float], fn, *args):
    started = time.perf_counter()
    with progress_bar(label, None):
        out = fn(*args)
    seconds[label] = round(time.perf_counter() - started, 1)
    print(f"{label}: {seconds[label]:.1f} s", flush=True)
    return out


def counterfactual_wmape(
    forecasts: pl.DataFrame, start: pl.DataFrame, estimates: pl.DataFrame, truth: GroundTruth
) -> float:
    """WMAPE of predicted units at +10% of today's price over the forecast days."""
    rows = forecasts.join(start.select("item_id", "current_price"), on="item_id").join(
        estimates.select("item_id", "elasticity"), on="item_id"
    )  # fmt: skip
    predicted = (rows["forecast"] * 1.1 ** rows["elasticity"]).to_numpy()
    actual = np.array([truth.demand(r["item_id"], 1.1 * r["current_price"], r["period_start"])
                       for r in rows.iter_rows(named=True)])  # fmt: skip
    return float(np.abs(predicted - actual).sum() / actual.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="Shop size factor.")
    parser.add_argument("--days", type=int, default=28, help="Closed-loop days (<= 28).")
    args = parser.parse_args()
    seconds: dict[str, float] = {}
    sim_cfg = _path.pinned(load_config(SimulationConfig, name="simulation"))
    if args.scale != 1.0:
        sim_cfg = sim_cfg.scaled(args.scale)
    pricing = load_config(PricingConfig, name="pricing")
    print(f"machine: {os.cpu_count()} cores; shop: {sim_cfg.catalog.n_items:,} items, "
          f"{sim_cfg.days} days; objective {pricing.objective}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feeds"
        tracking = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        sim = _timed("simulate", seconds, simulate, sim_cfg)
        write_feeds(sim.feeds, folder)
        _timed("build features", seconds, build_features, folder, FeatureConfig())
        demand_cfg = load_config(DemandConfig, name="demand").model_copy(
            update={"tracking_uri": tracking}
        )
        _timed("train demand (and forecast ahead)", seconds, train_demand, folder, demand_cfg)
        elasticity_cfg = load_config(ElasticityConfig, name="elasticity").model_copy(
            update={"tracking_uri": tracking}
        )
        estimates = _timed("estimate elasticities", seconds, train_elasticity, folder,
                           elasticity_cfg).estimates  # fmt: skip
        forecasts = read_forecasts(folder)
        start = item_states(folder, forecasts["period_start"].min())
    truth = sim.truth
    true = truth.items_frame().select("item_id", true="elasticity")
    joined = estimates.join(true, on="item_id")
    mae = {m: float((joined[m] - joined["true"]).abs().mean()) for m in ("elasticity", "naive")}
    inside = (joined["true"] >= joined["ci_low"]) & (joined["true"] <= joined["ci_high"])
    coverage = float(inside.mean())
    implausible = int(estimates["implausible"].sum())
    # what the data allow: most items are priced on their category's estimate, whose own
    # standard error bounds how close any estimate of them can get
    category_se = float(((estimates["category_ci_high"] - estimates["category_ci_low"])
                         / (2 * 1.96)).median())  # fmt: skip
    own_data = float((estimates["method"] == "dml").mean())
    print(f"coverage of the truth by the 95% intervals: {coverage:.1%}; "
          f"implausible estimates: {implausible}; median category standard error "
          f"{category_se:.3f}; items on mostly their own data: {own_data:.1%}")  # fmt: skip
    print(f"elasticity MAE vs truth: DML {mae['elasticity']:.3f}, naive {mae['naive']:.3f} "
          f"({joined.height:,} items)")  # fmt: skip
    days = sorted(forecasts["period_start"].unique().to_list())[: args.days]
    window = forecasts.filter(pl.col("period_start").is_in(days))
    cf = _timed("counterfactual +10%", seconds, counterfactual_wmape, window, start, estimates,
                truth)  # fmt: skip
    print(f"counterfactual WMAPE of units at +10%: {cf:.3f}")
    # as proposals price: an implausible estimate gives way to its category's (where both
    # are implausible a proposal keeps today's price; the replay prices on the category's)
    priced = priced_elasticities(estimates).with_columns(
        elasticity=pl.when(pl.col("elasticity_source") == KEEP)
        .then(estimates["category_elasticity"])
        .otherwise("elasticity")
    )
    policies = {"dml": priced, "naive": estimates.select("item_id", elasticity="naive")}

    def demand(item: str, prices: np.ndarray, date: dt.date) -> np.ndarray:
        return np.asarray(truth.demand(item, prices, date))

    with progress_bar(f"closed loop over {len(days)} days", len(days)) as advance:
        started = time.perf_counter()
        result = replay(start, window, policies, demand, pricing, on_day=lambda _d: advance(1))
        seconds["closed loop"] = round(time.perf_counter() - started, 1)
    print(f"{'policy':10}{'profit':>14}{'vs current':>12}{'vs oracle':>11}{'violations':>12}")
    for policy, profit in result.profit.items():
        versus = profit / result.profit[CURRENT] - 1, profit / result.profit[ORACLE]
        print(f"{policy:10}{profit:>14,.0f}{versus[0]:>+12.2%}{versus[1]:>11.1%}"
              f"{result.violations[policy]:>12}")  # fmt: skip
    figures = {
        "elasticity_mae_naive": round(mae["naive"], 4),
        "elasticity_mae_dml": round(mae["elasticity"], 4),
        "elasticity_coverage_95": round(coverage, 4),
        "implausible_estimates": implausible,
        "category_se_median": round(category_se, 4),
        "share_own_data": round(own_data, 4),
        "cf_wmape_10pct": round(cf, 4),
        "profit_vs_current": round(result.profit["dml"] / result.profit[CURRENT] - 1, 4),
        "profit_vs_oracle": round(result.profit["dml"] / result.profit[ORACLE], 4),
        "guardrail_violations": result.violations["dml"] + result.violations[ORACLE],
        "naive_profit_vs_current": round(result.profit["naive"] / result.profit[CURRENT] - 1, 4),
        "oracle_vs_current": round(result.profit[ORACLE] / result.profit[CURRENT] - 1, 4),
        "items": start.height,
        "days": result.days,
        "seconds": seconds,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
