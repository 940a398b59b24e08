"""Reports: a known effect is found, a broken split and a slow variant are flagged."""

from __future__ import annotations

import json

import pytest

from experiments.config import ExperimentsSettings
from experiments.report import build_report, write_report


@pytest.fixture()
def report_of(store, experiment, logs):
    def make(**kwargs):
        store.create(experiment)
        served, events = logs(experiment, **kwargs)
        store.log_exposures(served)
        store.log_outcomes(events)
        return build_report(store, experiment.name, ExperimentsSettings())

    return make


def test_a_real_lift_is_found_with_cuped_and_segments(report_of) -> None:
    report = report_of(n_units=6000, lift=0.5, seed=1)
    conversion = report["metrics"]["conversion"]
    assert conversion["role"] == "primary"
    result = conversion["comparisons"]["treatment"]
    assert result["p_value"] < 0.01 and result["relative_ci"][0] > 0
    assert result["chance_to_beat"] > 0.99
    assert result["cuped"]["variance_reduction"] > 0
    assert not report["srm"]["flagged"]
    assert {s["segment"] for s in report["segments"]} == {"new", "returning"}
    # 7 days of traffic; purchases an hour after a late exposure spill into an 8th day
    assert len(report["timeline"]["looks"]) == 8
    assert report["timeline"]["period_seconds"] == 86400
    assert report["timeline"]["sequential"]["treatment"]["looks"] == 8
    assert report["metrics"]["latency_ms"]["role"] == "guardrail"
    assert "add_to_cart_rate" not in report["metrics"]  # no add-to-cart events were logged
    assert report["metrics"]["profit_per_unit"]["role"] == "secondary"
    assert report["guardrails_breached"] == []


def test_no_effect_reads_as_no_effect(report_of) -> None:
    report = report_of(n_units=6000, lift=0.0, seed=2)
    result = report["metrics"]["conversion"]["comparisons"]["treatment"]
    assert result["relative_ci"][0] < 0 < result["relative_ci"][1]
    assert report["timeline"]["sequential"]["treatment"]["p_value"] > 0.05


def test_a_lost_share_of_treatment_flags_srm(report_of) -> None:
    report = report_of(n_units=6000, drop_treatment=0.2, seed=3)
    assert report["srm"]["flagged"] and report["srm"]["p_value"] < 0.001


def test_a_slower_variant_breaches_the_latency_guardrail(report_of) -> None:
    report = report_of(n_units=3000, latency_shift=5.0, seed=4)
    assert report["guardrails_breached"] == ["latency_ms"]
    latency = report["metrics"]["latency_ms"]["comparisons"]["treatment"]
    assert latency["chance_to_beat"] < 0.01  # lower is better: the slower arm loses


def test_report_files_are_written_and_agree(report_of, tmp_path) -> None:
    report = report_of(n_units=3000, drop_treatment=0.3, seed=5)
    json_path, html_path = write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["srm"]["flagged"] is True
    page = html_path.read_text()
    assert "Sample-ratio mismatch" in page
    assert page.count("data:image/png;base64,") == 2
    assert "returning" in page and "conversion (primary)" in page


def test_an_experiment_without_traffic_still_reports(store, experiment) -> None:
    store.create(experiment)
    report = build_report(store, experiment.name)
    assert report["units"] == 0 and report["metrics"] == {} and not report["srm"]["flagged"]
