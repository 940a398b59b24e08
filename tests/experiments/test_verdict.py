"""The verdict: each rule of experiments.verdict.decide, on hand-made analyses and on
reports of simulated tests."""

from __future__ import annotations

from typing import Any

import pytest

from experiments.config import ExperimentsSettings
from experiments.report import build_report
from experiments.verdict import decide


def _comparison(relative: float, p: float, low: float, high: float) -> dict[str, Any]:
    return {
        "absolute": relative * 0.1,
        "relative": relative,
        "relative_ci": [low, high],
        "p_value": p,
    }


def analysis(
    *,
    comparisons: dict[str, dict[str, Any]] | None = None,
    always_valid: dict[str, tuple[float, float]] | None = None,
    flagged: bool = False,
    breaches: list[dict[str, Any]] | None = None,
    design: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The parts of an analysed report that the verdict reads (control 10% conversion)."""
    comparisons = (
        {"treatment": _comparison(0.01, 0.6, -0.02, 0.04)} if comparisons is None else comparisons
    )
    always_valid = always_valid or {t: (-0.01, 0.01) for t in comparisons}
    names = ["control", *(comparisons or {"treatment": None})]
    return {
        "experiment": {
            "primary_metric": "conversion",
            "control": "control",
            "variants": [{"name": n} for n in names],
        },
        "alpha": 0.05,
        "srm": {"flagged": flagged, "p_value": 1e-6 if flagged else 0.5, "threshold": 0.001},
        "metrics": {"conversion": {"higher_is_better": True, "comparisons": comparisons}},
        "guardrail_breaches": breaches or [],
        "design": design,
        "timeline": {
            "sequential": {
                t: {"p_value": 0.01 if low > 0 or high < 0 else 0.5, "interval": [low, high]}
                for t, (low, high) in always_valid.items()
            }
        },
    }


SIGNIFICANT = {"treatment": _comparison(0.08, 0.001, 0.03, 0.13)}
HALF_WAY = {
    "planned_units": {"control": 1000, "treatment": 1000},
    "units": {"control": 500, "treatment": 520},
    "progress": 0.5,
    "reached": False,
}
REACHED = {
    "planned_units": {"control": 1000, "treatment": 1000},
    "units": {"control": 1010, "treatment": 1005},
    "progress": 1.005,
    "reached": True,
}
SLOW = {
    "guardrail": "latency_p99_ms",
    "treatment": "treatment",
    "judged_by": "budget",
    "text": "latency_p99_ms 61 ms over the budget of 50 ms",
}


def test_a_sample_ratio_mismatch_is_never_trusted() -> None:
    verdict = decide(analysis(comparisons=SIGNIFICANT, flagged=True, design=REACHED))
    assert verdict.decision == "keep_running" and verdict.investigate
    assert "sample-ratio mismatch" in verdict.line() and "investigate" in verdict.line()


def test_no_data_yet_keeps_running() -> None:
    verdict = decide(analysis(comparisons={}))
    assert verdict.decision == "keep_running"
    assert "not enough data" in verdict.reasons[0]


def test_a_breached_guardrail_stops_a_winner() -> None:
    verdict = decide(analysis(comparisons=SIGNIFICANT, breaches=[SLOW], design=REACHED))
    assert verdict.decision == "dont_ship"
    assert verdict.reasons == ["guardrail breached: latency_p99_ms 61 ms over the budget of 50 ms"]


def test_significant_harm_is_dont_ship_even_before_the_plan() -> None:
    worse = {"treatment": _comparison(-0.08, 0.001, -0.13, -0.03)}
    verdict = decide(analysis(comparisons=worse, design=HALF_WAY))
    assert verdict.decision == "dont_ship" and "significantly worse" in verdict.reasons[0]


def test_harm_seen_by_the_always_valid_test_is_dont_ship() -> None:
    verdict = decide(analysis(always_valid={"treatment": (-0.02, -0.001)}))
    assert verdict.decision == "dont_ship"


def test_a_winner_at_the_planned_sample_ships() -> None:
    verdict = decide(analysis(comparisons=SIGNIFICANT, design=REACHED))
    assert verdict.decision == "ship" and verdict.treatment == "treatment"
    assert "planned sample reached" in verdict.reasons[0]
    assert verdict.line().startswith("verdict: ship treatment (conversion +8.00%")


def test_a_winner_by_the_always_valid_test_ships_without_a_plan() -> None:
    verdict = decide(analysis(comparisons=SIGNIFICANT, always_valid={"treatment": (0.001, 0.02)}))
    assert verdict.decision == "ship" and "always-valid test crossed" in verdict.reasons[0]


def test_a_fixed_horizon_win_before_the_plan_keeps_running() -> None:
    verdict = decide(analysis(comparisons=SIGNIFICANT, design=HALF_WAY))
    assert verdict.decision == "keep_running"
    assert "fixed horizon not reached" in verdict.reasons[0]
    assert "500 of 1,000 units in control (50%)" in verdict.reasons[0]


def test_nothing_at_the_planned_sample_is_dont_ship() -> None:
    verdict = decide(analysis(design=REACHED))
    assert verdict.decision == "dont_ship"
    assert "no significant effect at the planned sample" in verdict.reasons[0]


def test_nothing_yet_without_a_plan_keeps_running_and_says_so() -> None:
    verdict = decide(analysis())
    assert verdict.decision == "keep_running" and "plans no sample size" in verdict.reasons[0]


def test_of_several_treatments_the_best_shippable_one_ships() -> None:
    comparisons = {
        "a": _comparison(0.05, 0.01, 0.01, 0.09),
        "b": _comparison(0.09, 0.001, 0.04, 0.14),
        "c": _comparison(0.0, 0.9, -0.04, 0.04),
    }
    planned = dict.fromkeys(["control", *comparisons], 1000)
    design = REACHED | {"planned_units": planned, "units": dict.fromkeys(planned, 1200)}
    verdict = decide(analysis(comparisons=comparisons, design=design))
    assert (verdict.decision, verdict.treatment) == ("ship", "b")


def test_several_treatments_all_failing_is_dont_ship_naming_each() -> None:
    comparisons = {"a": SIGNIFICANT["treatment"], "b": _comparison(-0.08, 0.001, -0.13, -0.03)}
    breach = SLOW | {"treatment": "a"}
    verdict = decide(analysis(comparisons=comparisons, breaches=[breach]))
    assert verdict.decision == "dont_ship" and verdict.treatment is None
    assert [r.split(":")[0] for r in verdict.reasons] == ["a", "b"]


@pytest.fixture()
def report_of(store, experiment, logs):
    def make(**kwargs: Any) -> dict[str, Any]:
        store.create(experiment)
        served, events = logs(experiment, **kwargs)
        store.log_exposures(served)
        store.log_outcomes(events)
        return build_report(store, experiment.name, ExperimentsSettings())

    return make


def test_reports_carry_the_verdict(report_of) -> None:
    report = report_of(n_units=3000, drop_treatment=0.3, seed=5)
    assert report["verdict"]["decision"] == "keep_running" and report["verdict"]["investigate"]


def test_a_slower_variant_is_not_shipped(report_of) -> None:
    report = report_of(n_units=3000, latency_shift=5.0, seed=4)
    assert report["verdict"]["decision"] == "dont_ship"
    assert "latency_ms" in report["verdict"]["line"]
