"""The ``storefront`` command line: one command per pipeline step.

Every command that reads or writes feeds takes ``--data-dir DIR``; errors in the user's
input end the command with a message naming what was wrong and a non-zero exit code.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.logging import RichHandler
from rich.table import Table

from storefront.config import ConfigError, default_data_dir, load_config
from storefront.feeds import Feeds, FeedValidationError, read_feeds, write_feeds
from storefront.progress import console, progress_bar
from storefront.summary import summary_tables

app = typer.Typer(
    help="Storefront ML: recommendations and dynamic pricing for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

features_app = typer.Typer(help="The feature store: build, inspect.", no_args_is_help=True)
app.add_typer(features_app, name="features")
train_app = typer.Typer(help="Train and evaluate models.", no_args_is_help=True)
app.add_typer(train_app, name="train")
models_app = typer.Typer(help="The model registry: aliases and promotion.", no_args_is_help=True)
app.add_typer(models_app, name="models")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Feed directory (events/catalog/inventory/prices/sales .parquet). "
        "Default: $STOREFRONT_DATA_DIR or data/feeds.",
    ),
]

SimulationYaml = Annotated[
    Path | None, typer.Option(help="Simulation YAML (default: configs/simulation.yaml).")
]

P = ParamSpec("P")
R = TypeVar("R")


def _user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn errors in the user's input into a one-line message and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FeedValidationError as exc:
            console.print(f"[bold red]refused:[/] {exc}")
            console.print("nothing was written; the previous data is untouched")
        except (ConfigError, FileNotFoundError, ValueError) as exc:
            console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1)

    return wrapper


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Set up logging (and quiet a third-party deprecation notice) for every command."""
    warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")  # ibis, under Feast
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


def _print_summary(feeds: Feeds, data_dir: Path) -> None:
    typer.echo(f"feeds in {data_dir}")
    for table in summary_tables(feeds):
        console.print(table)


def _simulate(data_dir: Path, config: Path | None, seed: int | None, scale: float) -> Feeds:
    from simulator import SimulationConfig, simulate
    from simulator.truth import TRUTH_FILE

    cfg = load_config(SimulationConfig, config, name="simulation")
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    if scale != 1.0:
        cfg = cfg.scaled(scale)
    with progress_bar("simulating the storefront (days)", cfg.days) as advance:
        sim = simulate(cfg, on_day=lambda _day: advance(1))
    with progress_bar(f"writing feeds to {data_dir}", None):
        return write_feeds(sim.feeds, data_dir, side_files={TRUTH_FILE: sim.truth.save})


@app.command("simulate")
@_user_errors
def simulate_command(
    data_dir: DataDir = None,
    config: SimulationYaml = None,
    seed: Annotated[int | None, typer.Option(help="Override the configured seed.")] = None,
    scale: Annotated[
        float, typer.Option(min=0.001, help="Scale users, items and sessions by this factor.")
    ] = 1.0,
) -> None:
    """Simulate a storefront with known truth and write its feeds and ground truth."""
    data_dir = data_dir or default_data_dir()
    started = time.perf_counter()
    feeds = _simulate(data_dir, config, seed, scale)
    typer.echo(f"simulated in {time.perf_counter() - started:.1f} s")
    _print_summary(feeds, data_dir)


@app.command("load")
@_user_errors
def load_command(
    name: Annotated[
        str, typer.Argument(help="Data set: online_retail, breakfast_at_the_frat or m5_tiny.")
    ],
    data_dir: DataDir = None,
    source: Annotated[
        Path | None, typer.Option(help="Raw data (default: the copy in ../shared/data).")
    ] = None,
) -> None:
    """Load a real retail data set into a validated feed directory."""
    from loaders import load

    data_dir = data_dir or default_data_dir()
    with progress_bar(f"loading {name}", None):
        result = load(name, source)
    with progress_bar(f"validating and writing feeds to {data_dir}", None):
        feeds = write_feeds(result.frames, data_dir)
    report = Table(title=f"{name}: rows dropped", title_justify="left")
    report.add_column("reason")
    report.add_column("rows", justify="right")
    for reason, rows in result.dropped.items():
        report.add_row(reason, f"{rows:,}")
    report.add_row("[bold]kept", f"[bold]{result.kept_rows:,} of {result.source_rows:,}")
    console.print(report)
    _print_summary(feeds, data_dir)


@app.command("validate")
@_user_errors
def validate_command(data_dir: DataDir = None) -> None:
    """Check every feed in a directory against the contract; exit 1 naming the first fault."""
    data_dir = data_dir or default_data_dir()
    with progress_bar(f"validating {data_dir}", None):
        feeds = read_feeds(data_dir)
    if not feeds.present():
        raise FileNotFoundError(f"no feed files (*.parquet) in {data_dir}")
    typer.echo("valid: every feed meets the contract")
    _print_summary(feeds, data_dir)


FeaturesConfig = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Features YAML (default: configs/features.yaml; the scale profile with "
        "Redis and Postgres is configs/feature_store.scale.yaml).",
    ),
]


def _build_features(data_dir: Path, config: Path | None, rebuild: bool) -> None:
    from features.build import build_features
    from features.config import FeatureConfig

    cfg = load_config(FeatureConfig, config, name="features")
    steps = ("read feeds", "compute tables", "write offline tables", "apply definitions",
             "materialize to the online store")  # fmt: skip
    with progress_bar("building features", len(steps)) as advance:
        started: list[str] = []

        def step(name: str) -> None:
            if started:
                advance(1)
            started.append(name)
            console.log(f"features: {name}")

        report = build_features(data_dir, cfg, rebuild=rebuild, step=step)
        advance(len(steps) - len(started) + 1)
    table = Table(title=f"features built through {report.built_through}", title_justify="left")
    table.add_column("table")
    table.add_column("new rows", justify="right")
    for name, rows in report.new_rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    if report.up_to_date:
        typer.echo("feature store up to date: nothing new in the feeds")
    for name, seconds in report.seconds.items():
        typer.echo(f"  {name}: {seconds:.1f} s")


@features_app.command("build")
@_user_errors
def features_build_command(
    data_dir: DataDir = None,
    config: FeaturesConfig = None,
    rebuild: Annotated[
        bool, typer.Option(help="Forget earlier builds and recompute everything.")
    ] = False,
) -> None:
    """Compute feature tables from the feeds, apply them to Feast and materialize the new
    rows (incremental: a second run adds only what is new)."""
    _build_features(data_dir or default_data_dir(), config, rebuild)


RECOMMENDER_COLUMNS = {
    "ndcg@10": "ndcg@10",
    "recall@20": "rec@20",
    "mrr@10": "mrr@10",
    "coverage@10": "cov@10",
    "cold_users.ndcg@10": "cold-user ndcg@10",
    "new_items.recall@20": "new-item rec@20",
}


def _train_recommender(
    data_dir: Path, config: Path | None, name: str, metrics_out: Path | None, trials: int = 0
) -> None:
    from training.recommender.config import RecommenderConfig
    from training.recommender.pipeline import train_recommender, write_metrics

    cfg = load_config(RecommenderConfig, config, name=name)
    if trials:
        cfg = cfg.model_copy(update={"tuning": cfg.tuning.model_copy(update={"trials": trials})})
    with progress_bar("training recommenders", None):
        report = train_recommender(data_dir, cfg, step=lambda s: console.log(f"recommender: {s}"))
    test_users = int(next(iter(report.results.values()))["users"])
    table = Table(
        title=f"recommenders on the test window ({test_users:,} shoppers, full ranking)",
        title_justify="left",
    )
    table.add_column("model")
    for header in (*RECOMMENDER_COLUMNS.values(), "fit s"):
        table.add_column(header, justify="right")
    for model, metrics in report.results.items():
        values = [f"{metrics.get(c, float('nan')):.4f}" for c in RECOMMENDER_COLUMNS]
        table.add_row(model, *values, f"{report.train_seconds[model]:.1f}")
    console.print(table)
    pairs = Table(
        title="item to item (test window, hit rate of the next choice)", title_justify="left"
    )
    for header in ("model", "cases", "hit rate", "category-popular hit rate"):
        pairs.add_column(header, justify="left" if header == "model" else "right")
    for kind, m in report.item_to_item.items():
        hit = next(v for k, v in m.items() if k.startswith("hit@"))
        base = next(v for k, v in m.items() if k.startswith("category_popular"))
        cases = m.get("pairs", m.get("orders", 0.0))
        pairs.add_row(kind, f"{cases:,.0f}", f"{hit:.4f}", f"{base:.4f}")
    console.print(pairs)
    typer.echo(f"MLflow run {report.run_id}; registered version {report.model_version}")
    if metrics_out is not None:
        write_metrics(report, metrics_out)
        typer.echo(f"metrics written to {metrics_out}")


@train_app.command("recommender")
@_user_errors
def train_recommender_command(
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Recommender YAML (default: configs/recommender.yaml).")
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option(help="Also write the evaluation figures as JSON here.")
    ] = None,
    tune: Annotated[bool, typer.Option(help="Tune the re-ranker with Optuna first.")] = False,
    trials: Annotated[int, typer.Option(min=1, help="Optuna trials with --tune.")] = 20,
) -> None:
    """Fit the baselines, the sequential model and the re-ranker, judge them on the same
    temporal split (full ranking), record the run in MLflow and register the model."""
    _train_recommender(
        data_dir or default_data_dir(), config, "recommender", metrics_out, trials if tune else 0
    )


def _train_demand(data_dir: Path, config: Path | None, metrics_out: Path | None) -> None:
    from training.demand.config import DemandConfig
    from training.demand.pipeline import train_demand, write_metrics

    cfg = load_config(DemandConfig, config, name="demand")
    with progress_bar("training the demand model", None):
        report = train_demand(data_dir, cfg, step=lambda s: console.log(f"demand: {s}"))
    unit = "days" if report.period_days == 1 else f"{report.period_days}-day periods"
    table = Table(
        title=f"demand forecast, last {report.horizon} {unit} "
        f"({report.results['model']['periods']:,.0f} item-periods)",
        title_justify="left",
    )
    for header in ("model", "WAPE", "RMSSE", "pinball (mean over quantiles)"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for who in ("model", "seasonal_naive"):
        m = report.results[who]
        table.add_row(who, f"{m['wape']:.4f}", f"{m['rmsse']:.4f}", f"{m['pinball']:.4f}")
    console.print(table)
    typer.echo(
        f"trained in {report.train_seconds:.1f} s; MLflow run {report.run_id}; "
        f"registered version {report.model_version}"
    )
    if metrics_out is not None:
        write_metrics(report, metrics_out)
        typer.echo(f"metrics written to {metrics_out}")


@train_app.command("demand")
@_user_errors
def train_demand_command(
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Demand YAML (default: configs/demand.yaml).")
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option(help="Also write the evaluation figures as JSON here.")
    ] = None,
) -> None:
    """Fit the global LightGBM demand model (tweedie mean, P10/P50/P90 quantiles) on the
    feature store's demand rows and judge it on the last horizon against seasonal naive."""
    _train_demand(data_dir or default_data_dir(), config, metrics_out)


@train_app.command("elasticity")
@_user_errors
def train_elasticity_command(
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Elasticity YAML (default: configs/elasticity.yaml).")
    ] = None,
    estimates_out: Annotated[
        Path | None,
        typer.Option(
            help="Write the per-item table (item_id, elasticity, ci_low, ci_high, "
            "n_obs, method, naive) as parquet here."
        ),
    ] = None,
) -> None:
    """Estimate own-price elasticities by double machine learning (cross-fitted LightGBM
    nuisance models, Poisson residual regression, shrinkage to the category)."""
    from training.elasticity.config import ElasticityConfig
    from training.elasticity.pipeline import train_elasticity

    cfg = load_config(ElasticityConfig, config, name="elasticity")
    with progress_bar("estimating price elasticities", None):
        table = train_elasticity(data_dir or default_data_dir(), cfg)
    summary = Table(title=f"elasticities of {table.height:,} items", title_justify="left")
    for header in ("estimate", "median", "p10", "p90"):
        summary.add_column(header, justify="left" if header == "estimate" else "right")
    for column, label in (("elasticity", "DML (shrunk)"), ("naive", "naive log-log")):
        values = table[column]
        summary.add_row(label, *(f"{v:.2f}" for v in (values.median(), values.quantile(0.1),
                                                      values.quantile(0.9))))  # fmt: skip
    console.print(summary)
    width = (table["ci_high"] - table["ci_low"]).median()
    typer.echo(f"median {cfg.confidence:.0%} interval width: {width:.2f}")
    if estimates_out is not None:
        estimates_out.parent.mkdir(parents=True, exist_ok=True)
        table.write_parquet(estimates_out)
        typer.echo(f"estimates written to {estimates_out}")


@models_app.command("promote")
@_user_errors
def models_promote_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")] = "storefront-recommender",
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Recommender YAML (default: configs/recommender.yaml).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if the challenger is worse (recorded).")
    ] = False,
) -> None:
    """Compare challenger and champion on the same holdout; move ``champion`` to the
    challenger unless it is worse on the primary metric."""
    from training.recommender.config import RecommenderConfig
    from training.recommender.registry import promote

    cfg = load_config(RecommenderConfig, config, name="recommender")
    with progress_bar(f"comparing {name}@challenger with {name}@champion", None):
        result = promote(name, data_dir or default_data_dir(), cfg, force=force)
    typer.echo(
        f"{result.metric}: champion v{result.champion_before} {result.champion_score:.4f}, "
        f"challenger v{result.challenger} {result.challenger_score:.4f}"
    )
    if result.promoted:
        typer.echo(f"champion is now v{result.challenger}" + (" (forced)" if result.forced else ""))
    else:
        typer.echo(f"champion stays v{result.champion_before}: the challenger is worse")


@app.command("quickstart")
@_user_errors
def quickstart_command(
    data_dir: DataDir = None,
    config: SimulationYaml = None,
    features_config: Annotated[
        Path | None, typer.Option(help="Features YAML (default: configs/features.yaml).")
    ] = None,
) -> None:
    """The main job: simulate a shop, validate its feeds, build its feature store."""
    data_dir = data_dir or default_data_dir()
    console.rule("1/5 simulate")
    _simulate(data_dir, config, seed=None, scale=1.0)
    console.rule("2/5 validate")
    with progress_bar(f"validating {data_dir}", None):
        feeds = read_feeds(data_dir, required=("events", "catalog", "inventory", "prices"))
    _print_summary(feeds, data_dir)
    console.rule("3/5 build the feature store")
    _build_features(data_dir, features_config, rebuild=True)
    console.rule("4/5 train recommenders (quick configuration)")
    _train_recommender(data_dir, None, "recommender.quickstart", metrics_out=None)
    console.rule("5/5 train the demand model")
    _train_demand(data_dir, None, metrics_out=None)
    typer.echo("quickstart done")


def run() -> None:
    """Console entry point: run the app, then leave without interpreter teardown.

    DuckDB (under Feast's offline store) prints a screen of "nanobind: leaked ..." lines
    when the interpreter tears its modules down; everything has been written and flushed
    by then, so the process ends straight after the command instead.
    """
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
