"""Training: recommenders, the demand model, price elasticities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, app, table, user_errors
from jobs import train

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


def print_recommender(report: train.TrainingReport) -> None:
    """Every model on the test window, item-to-item hit rates, the run and version."""
    test_users = int(next(iter(report.results.values()))["users"])
    rows = [
        [model, *(f"{metrics.get(c, float('nan')):.4f}" for c in RECOMMENDER_COLUMNS),
         f"{report.train_seconds[model]:.1f}"]
        for model, metrics in report.results.items()
    ]  # fmt: skip
    table(f"recommenders on the test window ({test_users:,} shoppers, full ranking)",
          ["model", *RECOMMENDER_COLUMNS.values(), "fit s"], rows)  # fmt: skip
    pairs = []
    for kind, m in report.item_to_item.items():
        hit = next(v for k, v in m.items() if k.startswith("hit@"))
        base = next(v for k, v in m.items() if k.startswith("category_popular"))
        cases = m.get("pairs", m.get("orders", 0.0))
        pairs.append([kind, f"{cases:,.0f}", f"{hit:.4f}", f"{base:.4f}"])
    table("item to item (test window, hit rate of the next choice)",
          ["model", "cases", "hit rate", "category-popular hit rate"], pairs)  # fmt: skip
    typer.echo(f"MLflow run {report.run_id}; registered version {report.model_version}")


def print_demand(report: train.DemandReport) -> None:
    """The model against seasonal naive on the last horizon, the run, the forecasts."""
    unit = "days" if report.period_days == 1 else f"{report.period_days}-day periods"
    rows = []
    for who in ("model", "seasonal_naive"):
        m = report.results[who]
        rows.append([who, f"{m['wape']:.4f}", f"{m['rmsse']:.4f}", f"{m['pinball']:.4f}"])
    table(f"demand forecast, last {report.horizon} {unit} "
          f"({report.results['model']['periods']:,.0f} item-periods)",
          ["model", "WAPE", "RMSSE", "pinball (mean over quantiles)"], rows)  # fmt: skip
    typer.echo(
        f"trained in {report.train_seconds:.1f} s; MLflow run {report.run_id}; "
        f"registered version {report.model_version}"
    )
    if report.forecast_path is not None:
        typer.echo(f"forecasts for the next {report.horizon} periods: {report.forecast_path}")
    elif report.forecasts_held:
        typer.echo(
            f"v{report.model_version} is the challenger: pricing keeps the champion's "
            "forecasts until `storefront models promote demand` promotes it"
        )


def print_elasticity(job: train.ElasticityJob) -> None:
    """The spread of the estimates, their interval width, the promotion response."""
    estimates, promotion = job.report.estimates, job.report.promotion
    rows = []
    for column, label in (("elasticity", "DML (shrunk)"), ("naive", "naive log-log")):
        values = estimates[column]
        rows.append([label, *(f"{v:.2f}" for v in (values.median(), values.quantile(0.1),
                                                   values.quantile(0.9)))])  # fmt: skip
    table(f"elasticities of {estimates.height:,} items", ["estimate", "median", "p10", "p90"],
          rows)  # fmt: skip
    width = (estimates["ci_high"] - estimates["ci_low"]).median()
    typer.echo(f"median {job.confidence:.0%} interval width: {width:.2f}")
    if job.report.published is not None:
        typer.echo(f"estimates kept for pricing in {job.estimates_path}")
    else:
        typer.echo(
            f"v{job.report.model_version} is the challenger: pricing keeps the champion's "
            "estimates until `storefront models promote elasticity` promotes it"
        )
    if promotion.height:
        rows = [[r["tier"], f"{r['promoted_views']:,}", f"{r['cart_rate_promoted'] or 0:.4f}",
                 f"{r['cart_rate_regular'] or 0:.4f}", f"{r['response']:.2f}",
                 f"{r['ci_low']:.2f}–{r['ci_high']:.2f}"]
                for r in promotion.iter_rows(named=True)]  # fmt: skip
        table("promotion response by price-sensitivity tier (for targeting promotions, "
              "never base prices)", ["tier", "promoted views", "cart rate promoted",
              "cart rate regular", "response (× carts)", "interval"], rows)  # fmt: skip


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
    report = train.recommender(data_dir, config, "recommender", trials if tune else 0, metrics_out)
    print_recommender(report)
    if metrics_out is not None:
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
    print_demand(train.demand(data_dir, config, trials if tune else 0, metrics_out))
    if metrics_out is not None:
        typer.echo(f"metrics written to {metrics_out}")


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
    print_elasticity(train.elasticity(data_dir, config, estimates_out))
    if estimates_out is not None:
        typer.echo(f"estimates written to {estimates_out}")
