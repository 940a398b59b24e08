"""``storefront experiments``: create, list, size, report and stop, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli import app
from storefront.config import PROJECT_ROOT
from storefront.workspace import Workspace

runner = CliRunner()
FEED = str(PROJECT_ROOT / "configs" / "experiments" / "home_feed_ranker.yaml")


def _run(*args: str):
    return runner.invoke(app, ["experiments", *args])


def test_create_list_report_stop(tmp_path, store, logs) -> None:
    data = ["--data-dir", str(tmp_path)]  # the store fixture lives in tmp_path too
    created = _run("create", FEED, *data)
    assert created.exit_code == 0, created.output
    assert "created home_feed_ranker" in created.output
    assert "pricing_optimiser" not in _run("list", *data).output
    pricing = str(PROJECT_ROOT / "configs" / "experiments" / "pricing_optimiser.yaml")
    assert _run("create", pricing, *data).exit_code == 0
    listed = _run("list", *data)
    assert "home_feed_ranker" in listed.output and "pricing_optimiser" in listed.output

    experiment = store.get("home_feed_ranker").experiment
    served, events = logs(experiment, n_units=2000, lift=0.5)
    store.log_exposures(served)
    store.log_outcomes(events)
    reported = _run("report", "home_feed_ranker", "--out", str(tmp_path / "r"), *data)
    assert reported.exit_code == 0, reported.output
    assert "conversion treatment:" in reported.output
    lines = [x for x in reported.output.splitlines() if x.startswith("home_feed_ranker")]
    assert lines[0].startswith("home_feed_ranker: verdict: ")  # the headline's first line
    assert "latency_p99_ms (budget 50 ms): control " in reported.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["units"] == 2000 and (tmp_path / "r" / "report.html").exists()

    assert _run("stop", "home_feed_ranker", *data).exit_code == 0
    again = _run("stop", "home_feed_ranker", *data)
    assert again.exit_code == 1 and "already stopped" in again.output


def test_changing_weights_of_a_running_test_is_refused(tmp_path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert _run("create", FEED, *data).exit_code == 0
    raw = yaml.safe_load(Path(FEED).read_text())
    raw["variants"][0]["weight"], raw["variants"][1]["weight"] = 0.3, 0.7
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(raw))
    result = _run("create", str(changed), *data)
    assert result.exit_code == 1 and "reshuffles" in result.output


def test_a_bad_definition_names_the_field(tmp_path) -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "configs/experiments/pricing_optimiser.yaml").read_text())
    raw["unit"] = "shopper"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = _run("create", str(path), "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "unit:" in result.output and "never by shopper" in result.output


def test_db_url_points_at_another_store(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert _run("create", FEED, "--db-url", url, "--data-dir", str(tmp_path / "d")).exit_code == 0
    assert (tmp_path / "elsewhere.db").exists()
    assert not Workspace(tmp_path / "d").experiments_db.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--baseline", "0.05", "--mde", "0.05"], "units per variant: 122,"),
        (["--baseline", "0.05", "--mde", "0.05", "--daily-units", "10000"], "duration: 25 days"),
    ],
)
def test_size(args, expected) -> None:
    result = _run("size", *args)
    assert result.exit_code == 0 and expected in result.output


def test_size_refuses_a_rate_above_one() -> None:
    result = _run("size", "--baseline", "1.5", "--mde", "0.1")
    assert result.exit_code == 1 and "baseline:" in result.output


def test_a_mistyped_shop_folder_is_named_and_nothing_is_created(tmp_path) -> None:
    typo = tmp_path / "shpo"
    for args in (["list"], ["report", "feed_test"], ["create", FEED]):
        result = _run(*args, "--data-dir", str(typo))
        assert result.exit_code == 1, args
        assert "does not exist" in " ".join(result.output.split()), args
    assert not typo.exists()


def test_the_simulated_runs_print_their_verdict_and_breaches(capsys) -> None:
    from cli.experiments import print_simulated

    run = {
        "surface": "home feed", "primary_metric": "conversion", "treatment": "treatment",
        "control": "control", "measured_lift": 0.1, "measured_ci": [0.0, 0.2],
        "estimator": "cuped", "unadjusted_lift": 0.1, "unadjusted_ci": [0.0, 0.2],
        "unadjusted_p_value": 0.04, "true_lift": 0.12, "events": 10, "report": "r.html",
        "verdict": "verdict: don't ship treatment (guardrail breached: …)",
        "guardrail_breaches": ["latency_p99_ms 61 ms over the budget of 50 ms"],
    }  # fmt: skip
    print_simulated({"home_feed_ranker": run})
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "  verdict: don't ship treatment (guardrail breached: …)",
        "  guardrail breached: latency_p99_ms 61 ms over the budget of 50 ms",
    ]
