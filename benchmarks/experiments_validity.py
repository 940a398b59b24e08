"""Validity of the A/B statistics by simulation (experiments/validity.py).

Usage: .venv/bin/python benchmarks/experiments_validity.py [--tests N] [--seed S]
Simulates, with N = 10,000 by default:
- N A/A tests of heavy-tailed revenue per unit (2,000 units per arm), Welch at α = 0.05;
- N A/A tests of click-through with per-shopper propensities (delta method);
- N experiments of 100,000 units with 5% of the treatment's units lost before logging
  (a sample-ratio mismatch, flagged at p < 0.001), and N healthy ones;
- N CUPED comparisons with a pre-period covariate of ρ = 0.6;
- N A/A tests looked at 50 times (200 new units per arm between looks): the mSPRT and,
  for contrast, a t-test at every look.
Last line: {"aa_fpr", "srm_power", "cuped_var_reduction", "rho2", "sequential_fpr", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import _path  # noqa: F401  (first: keeps this folder off the import path)

from experiments.config import load_settings
from experiments.validity import (
    aa_false_positive_rate,
    aa_ratio_false_positive_rate,
    cuped_check,
    peeking_check,
    srm_false_alarm_rate,
    srm_power,
)
from storefront.progress import progress_bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=10_000, help="simulated tests per check")
    parser.add_argument("--seed", type=int, default=0, help="added to every check's seed")
    args = parser.parse_args()
    settings = load_settings()
    n, seed = args.tests, args.seed
    print(f"machine: {os.cpu_count()} cores; {n} simulated tests per check; alpha {settings.alpha}")
    started = time.perf_counter()

    with progress_bar("A/A tests (Welch)", n) as advance:
        aa = aa_false_positive_rate(n, 2000, settings.alpha, seed=1 + seed, advance=advance)
    print(f"A/A false-positive rate: {aa:.4f} (goal 0.035-0.065)")
    with progress_bar("A/A tests of click-through (delta method)", n) as advance:
        aa_ratio = aa_ratio_false_positive_rate(n, 2000, settings.alpha, 6 + seed, advance)
    print(f"A/A false-positive rate, ratio metric: {aa_ratio:.4f}")

    srm = srm_power(n, 100_000, 0.05, settings.srm_p_threshold, seed=2 + seed)
    false_alarm = srm_false_alarm_rate(n, 100_000, settings.srm_p_threshold, seed=3 + seed)
    print(f"SRM: 5% loss at 100,000 units flagged in {srm:.1%} of runs (goal >= 99%);")
    print(f"     healthy splits flagged in {false_alarm:.1%} (expected about 0.1%)")

    with progress_bar("CUPED, rho = 0.6", n) as advance:
        cuped = cuped_check(n, 2000, rho=0.6, seed=4 + seed, advance=advance)
    print(
        f"CUPED: variance of the lift estimate down {cuped.estimator_reduction:.4f} "
        f"(reported {cuped.reported_reduction:.4f}); rho^2 = {cuped.rho2:.4f} (goal within 0.05)"
    )

    with progress_bar("A/A tests peeked at 50 times", n) as advance:
        peek = peeking_check(
            n, 50, 200, settings.alpha, settings.sequential_tau, seed=5 + seed, advance=advance
        )
    print(
        f"peeking: mSPRT false-positive rate {peek.sequential_fpr:.4f} (goal <= {settings.alpha}); "
        f"t-test at every look {peek.naive_fpr:.4f}"
    )
    seconds = time.perf_counter() - started
    print(f"total {seconds:.1f} s")
    figures = {
        "aa_fpr": round(aa, 4),
        "aa_ratio_fpr": round(aa_ratio, 4),
        "srm_power": round(srm, 4),
        "cuped_var_reduction": round(cuped.estimator_reduction, 4),
        "rho2": round(cuped.rho2, 4),
        "sequential_fpr": round(peek.sequential_fpr, 4),
        "naive_peeking_fpr": round(peek.naive_fpr, 4),
        "srm_false_alarm": round(false_alarm, 4),
        "tests": n,
        "seconds": round(seconds, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
