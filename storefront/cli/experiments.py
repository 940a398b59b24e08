"""A/B experiments: define, list, stop, size and report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storefront.cli.common import DataDir, app, shop, user_errors
from storefront.progress import progress_bar
from storefront.workspace import workspace

if TYPE_CHECKING:
    from experiments.config import ExperimentsSettings
    from experiments.store import ExperimentStore

experiments_app = typer.Typer(
    help="A/B experiments: definitions, sample sizes, reports.", no_args_is_help=True
)
app.add_typer(experiments_app, name="experiments")

DbUrl = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        help="Experiment store URL (default: db_url in configs/experiments.yaml, else "
        "the shop's state/experiments.db).",
    ),
]
SettingsYaml = Annotated[
    Path | None,
    typer.Option("--settings", help="Settings YAML (default: configs/experiments.yaml)."),
]


def _store(
    data_dir: Path | None, db_url: str | None, settings_path: Path | None
) -> tuple[ExperimentStore, ExperimentsSettings]:
    """The store named by ``--db-url``, the settings file, or the data directory."""
    from experiments.config import load_settings
    from experiments.store import ExperimentStore

    settings = load_settings(settings_path)
    if db_url:
        settings = settings.model_copy(update={"db_url": db_url})
    if settings.db_url:
        return ExperimentStore(settings.db_url), settings
    return ExperimentStore.open(shop(data_dir), settings), settings


def _headline(comparison: dict[str, Any], sequential: dict[str, Any]) -> str:
    """One line per treatment: lift, interval, p-values, chance to beat."""
    c = comparison
    low, high = c["relative_ci"]
    if None in (c["relative"], low, high, c["p_value"], c["chance_to_beat"]):
        return "not enough data"
    always_valid = sequential.get("p_value")
    seq = "" if always_valid is None else f", always-valid p = {always_valid:.3g}"
    return (
        f"{c['relative']:+.2%} [{low:+.2%}, {high:+.2%}], p = {c['p_value']:.3g}{seq}, "
        f"chance to beat {c['chance_to_beat']:.1%}"
    )


@experiments_app.command("create")
@user_errors
def create_command(
    config: Annotated[Path, typer.Argument(help="Experiment YAML (configs/experiments/*.yaml).")],
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    settings: SettingsYaml = None,
) -> None:
    """Register an experiment (or update a running one whose randomisation is unchanged)."""
    from experiments.config import load_experiment

    experiment = load_experiment(config)
    store, _ = _store(data_dir, db_url, settings)
    outcome = store.create(experiment)
    variants = ", ".join(f"{v.name} {v.weight:.0%}" for v in experiment.variants)
    typer.echo(
        f"{outcome} {experiment.name}: {experiment.surface} by {experiment.unit}; {variants}"
    )


@experiments_app.command("list")
@user_errors
def list_command(
    data_dir: DataDir = None, db_url: DbUrl = None, settings: SettingsYaml = None
) -> None:
    """Every experiment with its status, surface, unit and variants."""
    store, _ = _store(data_dir, db_url, settings)
    stored = store.list()
    if not stored:
        typer.echo("no experiments yet (storefront experiments create CONFIG_YAML)")
    for s in stored:
        e = s.experiment
        variants = ", ".join(f"{v.name} {v.weight:.0%}" for v in e.variants)
        typer.echo(
            f"{e.name:28} {s.status:8} {e.surface:16} {e.unit:10} {variants} "
            f"(since {s.created_at:%Y-%m-%d})"
        )


@experiments_app.command("stop")
@user_errors
def stop_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    settings: SettingsYaml = None,
) -> None:
    """Stop a running experiment; its logs stay for the report."""
    store, _ = _store(data_dir, db_url, settings)
    store.stop(name)
    typer.echo(f"stopped {name}")


@experiments_app.command("size")
@user_errors
def size_command(
    baseline: Annotated[float, typer.Option(help="Control rate, or mean with --sd.")],
    mde: Annotated[float, typer.Option(help="Minimum detectable effect, relative (0.05 = +5%).")],
    sd: Annotated[float | None, typer.Option(help="Per-unit sd of a continuous metric.")] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    power: Annotated[float, typer.Option(help="Chance to detect the effect.")] = 0.8,
    weights: Annotated[
        str, typer.Option(help="Traffic shares, control first, comma-separated.")
    ] = "0.5,0.5",
    daily_units: Annotated[
        float | None, typer.Option(help="New units entering the test per day.")
    ] = None,
) -> None:
    """Units per variant (and days) to detect a relative effect."""
    from experiments.stats.power import sample_size

    try:
        shares = [float(w) for w in weights.split(",")]
    except ValueError as exc:
        raise ValueError(f"weights: expected numbers separated by commas, got {weights!r}") from exc
    result = sample_size(
        baseline, mde, sd=sd, alpha=alpha, power=power, weights=shares, daily_units=daily_units
    )
    per_variant = ", ".join(f"{n:,}" for n in result.per_variant)
    typer.echo(f"units per variant: {per_variant} (total {result.total:,})")
    if result.days is not None:
        typer.echo(f"duration: {result.days} days at {daily_units:,.0f} units per day")


@experiments_app.command("report")
@user_errors
def report_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <data-dir>/reports/NAME).")
    ] = None,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    settings: SettingsYaml = None,
) -> None:
    """Analyse an experiment: write report.html and report.json, print the headline."""
    from experiments.report import build_report, write_report

    store, cfg = _store(data_dir, db_url, settings)
    with progress_bar(f"analysing {name}", None):
        report = build_report(store, name, cfg)
    folder = out or workspace(shop(data_dir)).reports / name
    json_path, html_path = write_report(report, folder)
    primary = report["experiment"]["primary_metric"]
    srm = report["srm"]
    verdict = "no units yet" if srm.get("p_value") is None else f"SRM p = {srm['p_value']:.3g}"
    flag = " FLAGGED: assignment or logging is broken" if srm["flagged"] else ""
    typer.echo(f"{name}: {report['units']:,} units; {verdict}{flag}")
    sequential = (report.get("timeline") or {}).get("sequential", {})
    for treatment, c in report["metrics"].get(primary, {}).get("comparisons", {}).items():
        typer.echo(f"{primary} {treatment}: {_headline(c, sequential.get(treatment, {}))}")
    typer.echo(f"wrote {html_path} and {json_path}")


def _wait_for(post: Any, experiment: Any, item: str, timeout: float = 60.0) -> None:
    """Until the service assigns variants of ``experiment`` (it re-reads the running
    experiments every few seconds)."""
    import time

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


def simulate_experiments(
    data_dir: Path, url: str, traffic: Path | None, settings_path: Path | None
) -> dict[str, Any]:
    """Run the end-to-end check; returns, per experiment, the measured and true lifts."""
    import datetime as dt
    import json
    import logging
    import time

    import httpx

    from experiments.config import load_experiment
    from experiments.report import build_report, write_report
    from simulator.traffic import TrafficConfig, home_feed, pricing
    from simulator.truth import TRUTH_FILE, GroundTruth
    from storefront.config import config_dir, load_config

    cfg = load_config(TrafficConfig, traffic, name="traffic")
    truth = GroundTruth.load(workspace(data_dir).feed_file(TRUTH_FILE))
    store, settings = _store(data_dir, None, settings_path)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    client = httpx.Client(base_url=url, timeout=30.0)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = client.post(path, json=body)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            hint = "is `storefront serve` running?"
            raise ValueError(f"url: {url}{path} failed ({exc}); {hint}") from exc
        return answer.json()

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = f"{now:%Y%m%d%H%M%S}"
    window = {"home_feed_ranker": 2, "pricing_optimiser": 2}  # hours: the test is minutes long
    results: dict[str, Any] = {}
    for base, run in (("home_feed_ranker", "home feed"), ("pricing_optimiser", "pricing")):
        definition = load_experiment(config_dir() / "experiments" / f"{base}.yaml")
        experiment = definition.model_copy(
            update={"name": f"{base}-sim-{stamp}", "salt": f"{base}-sim-{stamp}",
                    "layer": f"{base}-sim-{stamp}", "start": now - dt.timedelta(minutes=1),
                    "stop": now + dt.timedelta(days=2),
                    "attribution_window_hours": window[base]}
        )  # fmt: skip
        store.create(experiment)
        try:
            _wait_for(post, experiment, str(truth.world.item_ids[0]))
            with progress_bar(f"simulated shoppers: {run}", None):
                if base == "home_feed_ranker":
                    expected = home_feed(post, truth, experiment.name, cfg)
                else:
                    start = truth.cfg.start_date + dt.timedelta(days=truth.cfg.days)
                    policies = _policy_prices(data_dir, experiment, start)
                    expected = pricing(post, truth, cfg, start, policies)
            time.sleep(1.5)  # the service writes exposures in batches (every 0.5 s by default)
        finally:  # a failed run leaves no experiment running
            store.stop(experiment.name)
        report = build_report(store, experiment.name, settings)
        _, html_path = write_report(report, workspace(data_dir).reports / experiment.name)
        control, treatment = (v.name for v in experiment.variants[:2])
        primary = report["experiment"]["primary_metric"]
        measured = report["metrics"].get(primary, {}).get("comparisons", {}).get(treatment)
        if measured is None or expected.units.keys() != {control, treatment}:
            raise ValueError(
                f"traffic: {experiment.name} got no outcomes in one of its arms "
                f"({report['units']:,} units); see {html_path}"
            )
        cuped = (measured.get("cuped") or {}).get("lift")
        best = cuped or measured
        results[base] = {
            "experiment": experiment.name,
            "primary_metric": primary,
            "events": expected.events,
            "measured_lift": best["relative"],
            "measured_ci": best["relative_ci"],
            "estimator": "cuped" if cuped else "difference in means",
            "unadjusted_lift": measured["relative"],
            "unadjusted_ci": measured["relative_ci"],
            "served_true_lift": expected.means()[treatment] / expected.means()[control] - 1,
            "true_lift": expected.lift(control, treatment),
            "served_true_means": expected.means(),
            "true_effect": expected.true_effect or None,
            "report": str(html_path),
        }
        low, high = best["relative_ci"]
        typer.echo(
            f"{run}: {primary} {treatment} vs {control}: measured {best['relative']:+.2%} "
            f"[{low:+.2%}, {high:+.2%}] ({results[base]['estimator']}; unadjusted "
            f"{_headline(measured, {})}); the truth implies {results[base]['true_lift']:+.2%} "
            f"({expected.events:,} events)"
        )
        typer.echo(f"  report: {html_path}")
    (workspace(data_dir).reports / "simulated.json").write_text(json.dumps(results, indent=2))
    return results


def _policy_prices(data_dir: Path, experiment: Any, start: Any) -> dict[str, dict[str, float]]:
    """Variant → item → price: the feed's current price for a ``current`` pricing
    policy, the published proposal (else the feed price) for any other."""
    import datetime as dt

    from training.pricing.inputs import feed_prices
    from training.pricing.ledger import prices_in_force

    feed = dict(feed_prices(data_dir, start - dt.timedelta(days=1)).iter_rows())
    in_force = prices_in_force(data_dir, dt.datetime.now(dt.UTC))  # what the service serves now
    published = dict(in_force.select("item_id", "price").iter_rows())
    return {
        v.name: feed if v.pricing_policy == "current" else feed | published
        for v in experiment.variants
    }


@experiments_app.command("simulate")
@user_errors
def simulate_command(
    data_dir: DataDir = None,
    url: Annotated[str, typer.Option(help="The running service.")] = "http://127.0.0.1:3000",
    traffic: Annotated[
        Path | None, typer.Option(help="Traffic YAML (default: configs/traffic.yaml).")
    ] = None,
    settings: SettingsYaml = None,
) -> None:
    """Drive simulated shoppers (the shop's ground truth) against the running service:
    the home-feed ranker against popularity, and optimised against current prices (by
    item); print each report's lift beside the lift the truth implies."""
    simulate_experiments(shop(data_dir), url, traffic, settings)
