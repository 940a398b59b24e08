"""A/B experiments: the store, definitions, sizing, reports, and the end-to-end check
against a running service with simulated shoppers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.shop import open_shop
from storefront.progress import progress_bar
from storefront.workspace import workspace

if TYPE_CHECKING:
    from experiments.config import Experiment, ExperimentsSettings
    from experiments.stats.power import SampleSize
    from experiments.store import ExperimentStore, StoredExperiment

SIMULATED = ("home_feed_ranker", "home feed"), ("pricing_optimiser", "pricing")
"""The experiments of the end-to-end check: definition stem, what it tests."""


@dataclass(frozen=True)
class ReportJob:
    """An analysed experiment and the files written."""

    report: dict[str, Any]
    json_path: Path
    html_path: Path


def store(
    data_dir: Path | None, db_url: str | None = None, settings_path: Path | None = None
) -> tuple[ExperimentStore, ExperimentsSettings]:
    """The store named by ``db_url``, else the settings file's, else the shop's own."""
    from experiments.config import load_settings
    from experiments.store import ExperimentStore

    settings = load_settings(settings_path)
    if db_url:
        settings = settings.model_copy(update={"db_url": db_url})
    if settings.db_url:
        return ExperimentStore(settings.db_url), settings
    return ExperimentStore.open(open_shop(data_dir), settings), settings


def create(
    config: Path, data_dir: Path | None, db_url: str | None = None, settings: Path | None = None
) -> tuple[str, Experiment]:
    """Register an experiment (or update a running one whose randomisation is unchanged);
    returns what the store did (``created`` / ``updated`` / …) and the definition."""
    from experiments.config import load_experiment

    experiment = load_experiment(config)
    found, _ = store(data_dir, db_url, settings)
    return found.create(experiment), experiment


def list_all(
    data_dir: Path | None, db_url: str | None = None, settings: Path | None = None
) -> list[StoredExperiment]:
    """Every experiment with its status."""
    found, _ = store(data_dir, db_url, settings)
    return found.list()


def stop(
    name: str, data_dir: Path | None, db_url: str | None = None, settings: Path | None = None
) -> None:
    """Stop a running experiment; its logs stay for the report."""
    found, _ = store(data_dir, db_url, settings)
    found.stop(name)


def size(
    baseline: float,
    mde: float,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    weights: str = "0.5,0.5",
    daily_units: float | None = None,
) -> SampleSize:
    """Units per variant (and days) to detect a relative effect.

    Raises:
        ValueError: ``weights`` is not a comma-separated list of numbers.
    """
    from experiments.stats.power import sample_size

    try:
        shares = [float(w) for w in weights.split(",")]
    except ValueError as exc:
        raise ValueError(f"weights: expected numbers separated by commas, got {weights!r}") from exc
    return sample_size(
        baseline, mde, sd=sd, alpha=alpha, power=power, weights=shares, daily_units=daily_units
    )


def report(
    name: str,
    data_dir: Path | None,
    out: Path | None = None,
    db_url: str | None = None,
    settings: Path | None = None,
) -> ReportJob:
    """Analyse an experiment and write ``report.html`` and ``report.json`` (default in the
    shop's ``state/reports/NAME``)."""
    from experiments.report import build_report, write_report

    found, cfg = store(data_dir, db_url, settings)
    with progress_bar(f"analysing {name}", None):
        analysed = build_report(found, name, cfg)
    folder = out or workspace(open_shop(data_dir)).reports / name
    json_path, html_path = write_report(analysed, folder)
    return ReportJob(analysed, json_path, html_path)


def simulate(
    data_dir: Path | None, url: str, traffic: Path | None = None, settings: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Drive the shop's simulated shoppers (its ground truth) against the running service
    for the home-feed ranker and the pricing optimiser; returns, per experiment, the
    measured lift beside the lift the truth implies (also kept in the shop's reports as
    ``simulated.json``).

    Raises:
        ValueError: The service cannot be reached, does not pick the experiment up, or
            an arm got no outcomes (named).
    """
    import httpx

    from experiments.config import load_experiment
    from jobs.service import ingest_key
    from simulator.traffic import TrafficConfig
    from simulator.truth import TRUTH_FILE, GroundTruth
    from storefront.config import config_dir, load_config

    folder = open_shop(data_dir)
    cfg = load_config(TrafficConfig, traffic, name="traffic")
    truth = GroundTruth.load(workspace(folder).feed_file(TRUTH_FILE))
    found, settings_model = store(folder, None, settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    key = ingest_key(folder)  # /events needs it ($STOREFRONT_INGEST_KEY or the shop's)
    client = httpx.Client(
        base_url=url, timeout=30.0, headers={"x-ingest-key": key} if key else None
    )

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = client.post(path, json=body)
            answer.raise_for_status()
        except httpx.HTTPStatusError as exc:  # the service's answer says why
            said = exc.response.text[:500]
            raise ValueError(
                f"url: {url}{path} answered {exc.response.status_code}: {said}"
            ) from exc
        except httpx.HTTPError as exc:
            hint = "is `storefront serve` running?"
            raise ValueError(f"url: {url}{path} failed ({exc}); {hint}") from exc
        return answer.json()

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    results: dict[str, dict[str, Any]] = {}
    for base, run in SIMULATED:
        definition = load_experiment(config_dir() / "experiments" / f"{base}.yaml")
        experiment = _simulated(definition, now)
        results[base] = _run_one(folder, found, settings_model, experiment, post, truth, cfg, run)
    (workspace(folder).reports / "simulated.json").write_text(json.dumps(results, indent=2))
    return results


def _simulated(definition: Experiment, now: dt.datetime) -> Experiment:
    """A copy of ``definition`` of its own (name, salt, layer), running from now, with an
    attribution window of two hours (the test is minutes long)."""
    name = f"{definition.name}-sim-{now:%Y%m%d%H%M%S}"
    return definition.model_copy(
        update={"name": name, "salt": name, "layer": name, "start": now - dt.timedelta(minutes=1),
                "stop": now + dt.timedelta(days=2), "attribution_window_hours": 2}
    )  # fmt: skip


def _run_one(
    folder: Path,
    found: ExperimentStore,
    settings: ExperimentsSettings,
    experiment: Experiment,
    post: Any,
    truth: Any,
    cfg: Any,
    run: str,
) -> dict[str, Any]:
    """One simulated experiment: create, drive traffic, stop, analyse, compare."""
    from experiments.report import build_report, write_report
    from simulator.traffic import home_feed, pricing

    found.create(experiment)
    try:
        _wait_for(post, experiment, str(truth.world.item_ids[0]))
        with progress_bar(f"simulated shoppers: {run}", None):
            if experiment.surface != "pricing":
                expected = home_feed(post, truth, experiment.name, cfg)
            else:
                start = truth.cfg.start_date + dt.timedelta(days=truth.cfg.days)
                policies = _policy_prices(folder, experiment, start)
                before = _prices_in_force(folder)  # what the service quoted before
                expected = pricing(post, truth, cfg, start, policies, before)
        time.sleep(1.5)  # the service writes exposures in batches (every 0.5 s by default)
    finally:  # a failed run leaves no experiment running
        found.stop(experiment.name)
    analysed = build_report(found, experiment.name, settings)
    _, html_path = write_report(analysed, workspace(folder).reports / experiment.name)
    control, treatment = (v.name for v in experiment.variants[:2])
    primary = analysed["experiment"]["primary_metric"]
    measured = analysed["metrics"].get(primary, {}).get("comparisons", {}).get(treatment)
    if measured is None or expected.units.keys() != {control, treatment}:
        raise ValueError(
            f"traffic: {experiment.name} got no outcomes in one of its arms "
            f"({analysed['units']:,} units); see {html_path}"
        )
    cuped = (measured.get("cuped") or {}).get("lift")
    best = cuped or measured
    return {
        "experiment": experiment.name,
        "surface": run,
        "primary_metric": primary,
        "control": control,
        "treatment": treatment,
        "events": expected.events,
        "measured_lift": best["relative"],
        "measured_ci": best["relative_ci"],
        "estimator": "cuped" if cuped else "difference in means",
        "unadjusted_lift": measured["relative"],
        "unadjusted_ci": measured["relative_ci"],
        "unadjusted_p_value": measured["p_value"],
        "served_true_lift": expected.means()[treatment] / expected.means()[control] - 1,
        "true_lift": expected.lift(control, treatment),
        "served_true_means": expected.means(),
        "true_effect": expected.true_effect or None,
        "verdict": analysed["verdict"]["line"],
        "guardrail_breaches": [b["text"] for b in analysed["guardrail_breaches"]],
        "report": str(html_path),
    }


def _wait_for(post: Any, experiment: Experiment, item: str, timeout: float = 60.0) -> None:
    """Until the service assigns variants of ``experiment`` (it re-reads the running
    experiments every few seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if experiment.surface == "pricing":
            quotes = post("/price", {"item_ids": [item]})["prices"]
            if any(q.get("variant") for q in quotes):
                return
        elif experiment.name in post("/recommend", {"user_id": "sim-probe", "k": 1})["variants"]:
            return
        time.sleep(0.5)
    raise ValueError(
        f"url: the service did not pick up experiment {experiment.name} in {timeout:.0f} s"
    )


def _policy_prices(
    folder: Path, experiment: Experiment, start: dt.date
) -> dict[str, dict[str, float]]:
    """Variant → item → price: the feed's current price for a ``current`` pricing
    policy, the prices in force in the ledger (else the feed price) for any other."""
    from training.pricing.inputs import feed_prices
    from training.pricing.ledger import prices_in_force

    feed = dict(feed_prices(folder, start - dt.timedelta(days=1)).iter_rows())
    in_force = prices_in_force(folder, dt.datetime.now(dt.UTC))  # what the service serves now
    published = dict(in_force.select("item_id", "price").iter_rows())
    return {
        v.name: feed if v.pricing_policy == "current" else feed | published
        for v in experiment.variants
    }


def _prices_in_force(folder: Path) -> Callable[[dt.datetime], dict[str, float]]:
    """Item → the price the service quotes at a moment outside an experiment: the
    ledger's in force then, else the prices feed's (the pre-period's prices: the service
    refuses a purchase at any other, ``events.price_tolerance``)."""
    from training.pricing.inputs import list_prices
    from training.pricing.ledger import in_force, read_ledger, unchanged_between

    now = dt.datetime.now(dt.UTC)
    listed = dict(list_prices(folder, now).iter_rows())
    entries = read_ledger(folder)
    held: dict[str, Any] = {"span": None, "prices": listed}

    def prices(at: dt.datetime) -> dict[str, float]:
        span = held["span"]
        if span is None or not (
            (span[0] is None or span[0] <= at) and (span[1] is None or at < span[1])
        ):  # the entries in force change only at a valid_from
            ledger = in_force(entries, at).select("item_id", "price").iter_rows()
            held["prices"], held["span"] = listed | dict(ledger), unchanged_between(entries, at)
        return held["prices"]

    return prices
