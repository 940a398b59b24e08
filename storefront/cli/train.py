"""Training: recommenders, the demand model, price elasticities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from storefront.cli.common import DataDir, app, shop, user_errors, write_table
from storefront.config import load_config
from storefront.progress import console, progress_bar

train_app = typer.Typer(help="Train and evaluate models.", no_args_is_help=True)
app.add_typer(train_app, name="train")

RECOMMENDER_COLUMNS = {
    "ndcg@10": "ndcg@10",
    "recall@20": "rec@20",
    "mrr@10": "mrr@10",
    "coverage@10": "cov@10",
    "cold_users.ndcg@10": "cold-user ndcg@10",
    "new_items.recall@20": "new-item rec@20",
}


def train_recommender(
    data_dir: Path, config: Path | None, name: str, metrics_out: Path | None, trials: int = 0
) -> None:
    from training.recommender.config import RecommenderConfig

    """Train the recommenders with a progress bar and print their comparison."""
    from training.recommender.pipeline import train_recommender as train
    from training.recommender.pipeline import write_metrics

    cfg = load_config(RecommenderConfig, config, name=name)
    if trials:
        cfg = cfg.model_copy(update={"tuning": cfg.tuning.model_copy(update={"trials": trials})})
    with progress_bar("training recommenders", None):
        report = train(data_dir, cfg, step=lambda s: console.log(f"recommender: {s}"))
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
@user_errors
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
    train_recommender(shop(data_dir), config, "recommender", metrics_out, trials if tune else 0)


def train_demand(
    data_dir: Path, config: Path | None, metrics_out: Path | None, trials: int = 0
) -> None:
    from training.demand.config import DemandConfig

    """Train the demand model with a progress bar and print it against seasonal naive."""
    from training.demand.pipeline import train_demand as train
    from training.demand.pipeline import write_metrics

    cfg = load_config(DemandConfig, config, name="demand")
    if trials:
        cfg = cfg.model_copy(update={"tuning": cfg.tuning.model_copy(update={"trials": trials})})
    with progress_bar("training the demand model", None):
        report = train(data_dir, cfg, step=lambda s: console.log(f"demand: {s}"))
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
    if report.forecast_path is not None:
        typer.echo(f"forecasts for the next {report.horizon} periods: {report.forecast_path}")
    if metrics_out is not None:
        write_metrics(report, metrics_out)
        typer.echo(f"metrics written to {metrics_out}")


@train_app.command("demand")
@user_errors
def train_demand_command(
    data_dir: DataDir = None,
    config: Annotated[
        Path | None, typer.Option(help="Demand YAML (default: configs/demand.yaml).")
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option(help="Also write the evaluation figures as JSON here.")
    ] = None,
    tune: Annotated[bool, typer.Option(help="Tune the model with Optuna first.")] = False,
    trials: Annotated[int, typer.Option(min=1, help="Optuna trials with --tune.")] = 20,
) -> None:
    """Fit the global LightGBM demand model (tweedie mean, P10/P50/P90 quantiles) on the
    feature store's demand rows and judge it on the last horizon against seasonal naive."""
    train_demand(shop(data_dir), config, metrics_out, trials if tune else 0)


def train_elasticity(data_dir: Path, config: Path | None, estimates_out: Path | None) -> None:
    """Estimate elasticities with a progress bar and print their spread."""
    from training.elasticity.config import ElasticityConfig
    from training.elasticity.pipeline import estimates_path
    from training.elasticity.pipeline import train_elasticity as estimate

    cfg = load_config(ElasticityConfig, config, name="elasticity")
    with progress_bar("estimating price elasticities", None):
        report = estimate(data_dir, cfg)
    table = report.estimates
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
    typer.echo(f"estimates kept for pricing in {estimates_path(data_dir)}")
    if report.promotion.height:
        response = Table(
            title="promotion response by price-sensitivity tier (for targeting promotions, "
            "never base prices)",
            title_justify="left",
        )
        for header in ("tier", "promoted views", "cart rate promoted", "cart rate regular",
                       "response (× carts)", "interval"):  # fmt: skip
            response.add_column(header, justify="left" if header == "tier" else "right")
        for r in report.promotion.iter_rows(named=True):
            response.add_row(r["tier"], f"{r['promoted_views']:,}",
                             f"{r['cart_rate_promoted'] or 0:.4f}",
                             f"{r['cart_rate_regular'] or 0:.4f}", f"{r['response']:.2f}",
                             f"{r['ci_low']:.2f}–{r['ci_high']:.2f}")  # fmt: skip
        console.print(response)
    if estimates_out is not None:
        write_table(table, estimates_out, "estimates")


@train_app.command("elasticity")
@user_errors
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
    train_elasticity(shop(data_dir), config, estimates_out)
