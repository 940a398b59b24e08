"""``storefront train elasticity``: per-item elasticities by double machine learning,
with the naive estimate beside them, as a table a pricing team can take away."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
from scipy import stats

from features.config import store_dir
from features.pipelines.demand import period_days
from features.tables import DEMAND, USER
from storefront.feeds import read_feeds
from storefront.feeds.schemas import SCHEMAS
from storefront.workspace import workspace
from training.demand.config import DemandConfig
from training.demand.features import SERIES, model_rows
from training.demand.pipeline import read_demand
from training.elasticity.config import ElasticityConfig
from training.elasticity.dml import ITEM_PRICE, PRICE_BEFORE, pooled, residualise
from training.elasticity.promotion import promotion_response, shopper_tiers, view_outcomes
from training.elasticity.registry import ESTIMATES_ARTIFACT, FAMILY, log_estimates
from training.registry import CHAMPION, alias_version, register, write_atomically
from training.tracking import (
    day_range,
    log_dataset,
    plt,
    run_name,
    run_tags,
    tracked_run,
    use_experiment,
)

ESTIMATES_FILE = "elasticity.parquet"
PROMOTION_FILE = "promotion_response.parquet"
COLUMNS = ("item_id", "elasticity", "ci_low", "ci_high", "n_obs", "method", "naive", "flags",
           "implausible", "category_elasticity", "category_ci_low", "category_ci_high",
           "category_implausible")  # fmt: skip
PROMO_BEFORE = "promo_before"
POSITIVE = "positive"
TOO_LARGE = "beyond_max_magnitude"
TOO_NARROW = "interval_too_narrow"


def estimation_rows(
    demand: pl.DataFrame, catalog: pl.DataFrame, cfg: ElasticityConfig
) -> pl.DataFrame:
    """Uncensored demand rows with the controls: calendar, promotion, demand in the
    previous periods, item and location, each item's usual price level, and the price
    and promotion ``cfg.price_lag_days`` before (at least one period)."""
    days = period_days(demand)
    rows = model_rows(demand, days, DemandConfig(horizon=1))
    lag = max(1, round(cfg.price_lag_days / days))
    before = demand.select(
        *SERIES,
        pl.col("period_start") + pl.duration(days=lag * days),
        pl.col("price").log().alias(PRICE_BEFORE),
        *([pl.col("promo").cast(pl.Int8).alias(PROMO_BEFORE)] if "promo" in demand.columns
          else []),
    )  # fmt: skip
    return (
        rows.join(before, on=[*SERIES, "period_start"], how="left")
        .with_columns(pl.col("price").log().mean().over("item_id").alias(ITEM_PRICE))
        .filter(~pl.col("censored"))
        .join(catalog.select("item_id", "category"), on="item_id", how="left")
        .with_columns(pl.col("category").fill_null("unknown"))
    )


def _codes(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    names = values.unique().sort()
    return values.cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64), names


def clusters(rows: pl.DataFrame, cfg: ElasticityConfig) -> np.ndarray:
    """Cluster code per row for the robust variances (see ``ElasticityConfig.cluster``):
    the location, or the location and block of ``block_days`` consecutive days."""
    mode = cfg.cluster
    if mode == "auto":
        many = rows["location_id"].n_unique() >= cfg.min_cluster_locations
        mode = "location" if many else "block"
    key = pl.col("location_id")
    if mode == "block":
        block = pl.col("period_start").dt.epoch("d") // cfg.block_days
        key = pl.concat_str(key, block.cast(pl.String), separator="|")
    return _codes(rows.select(key.alias("cluster"))["cluster"])[0]


def flag(
    estimate: np.ndarray, low: np.ndarray, high: np.ndarray, n_obs: np.ndarray,
    cfg: ElasticityConfig,
) -> list[list[str]]:  # fmt: skip
    """Why each estimate is implausible (empty: plausible): a positive elasticity
    (dearer sells more), one beyond ``max_abs_elasticity``, or an interval narrower than
    ``min_width_sqrt_rows / sqrt(n_obs)`` (a standard error of order ``1 / sqrt(n)`` is
    what any honest fit on ``n`` rows can reach)."""
    floor = cfg.min_width_sqrt_rows / np.sqrt(np.maximum(n_obs, 1))
    rules = ((POSITIVE, estimate > 0), (TOO_LARGE, np.abs(estimate) > cfg.max_abs_elasticity),
             (TOO_NARROW, (high - low) < floor))  # fmt: skip
    return [[name for name, broken in rules if broken[k]] for k in range(len(estimate))]


def nuisance_adjustment(rows: pl.DataFrame, item: np.ndarray) -> np.ndarray:
    """The cross-fitted nuisance predictions (log price ``m(X)`` and log expected units
    ``log l(X)``), centred per item, as item-level regressors of the final stage.

    One pooled nuisance model learns the price effect on expected units at the items'
    average elasticity, so ``log l(X) ~ g(X) + theta_bar m(X)`` rather than
    ``g(X) + theta_i m(X)``; and a regularised ``m`` under-fits, so the price residual
    keeps part of ``m(X)``. Left out, ``(theta_i - theta_bar) m(X)`` leaks into the
    residual's slope and pushes every item away from the average. With
    ``y ~ Poisson(exp(a_i + log l + b_i (log p - m) + c_i m + d_i log l))`` each item
    corrects both nuisances linearly; ``b_i`` is still identified only by the part of
    the price the controls do not explain.
    """
    counts = np.bincount(item)
    columns = []
    for name in ("log_price_hat", "log_expected"):
        values = rows[name].to_numpy()
        columns.append(values - (np.bincount(item, values) / counts)[item])
    return np.column_stack(columns)


def estimate(demand: pl.DataFrame, catalog: pl.DataFrame, cfg: ElasticityConfig) -> pl.DataFrame:
    """Per-item elasticity table (see :data:`COLUMNS`).

    ``elasticity`` is the DML estimate shrunk toward the item's category; ``method`` says
    ``dml`` where the item's own data carry most weight, else ``dml+category``; ``naive``
    is the same pooled-and-shrunk Poisson regression on log price without controls.
    Intervals come from cluster-robust variances (:func:`clusters`); ``flags`` name why
    an estimate is implausible (:func:`flag`) and ``implausible`` says it has any, for
    the item and for its category's pooled estimate (``category_*``), which pricing uses
    in place of an implausible item estimate.
    """
    rows = residualise(estimation_rows(demand, catalog, cfg).drop("category"), cfg).join(
        catalog.select("item_id", "category"), on="item_id", how="left"
    ).with_columns(pl.col("category").fill_null("unknown"))  # fmt: skip
    item, names = _codes(rows["item_id"])
    category, _ = _codes(rows["category"])
    category_of_item = np.zeros(len(names), dtype=np.int64)
    category_of_item[item] = category
    cluster = clusters(rows, cfg)
    y = rows["units"].to_numpy()
    dml, posterior, weight, prior, prior_se = pooled(
        item, category_of_item, y, rows["price_residual"].to_numpy(),
        rows["log_expected"].to_numpy(), category, cluster,
        nuisance_adjustment(rows, item) if cfg.adjust_nuisance else None,
    )  # fmt: skip
    log_price = rows["log_price"].to_numpy()
    centred = log_price - (np.bincount(item, log_price) / np.bincount(item))[item]
    naive = pooled(item, category_of_item, y, centred, np.zeros(len(y)), category, cluster)[0]
    z = stats.norm.ppf(0.5 + cfg.confidence / 2)
    n_obs = np.bincount(item).astype(np.int64)
    low, high = dml - z * posterior, dml + z * posterior
    flags = flag(dml, low, high, n_obs, cfg)
    category_rows = np.bincount(category)[category_of_item]
    category_flags = flag(prior, prior - z * prior_se, prior + z * prior_se, category_rows, cfg)
    return pl.DataFrame(
        {
            "item_id": names,
            "elasticity": dml,
            "ci_low": low,
            "ci_high": high,
            "n_obs": n_obs,
            "method": np.where(weight >= 0.5, "dml", "dml+category"),
            "naive": naive,
            "flags": pl.Series(flags, dtype=pl.List(pl.String)),
            "implausible": [bool(f) for f in flags],
            "category_elasticity": prior,
            "category_ci_low": prior - z * prior_se,
            "category_ci_high": prior + z * prior_se,
            "category_implausible": [bool(f) for f in category_flags],
        }
    ).select(COLUMNS)


def _plot(table: pl.DataFrame, catalog: pl.DataFrame) -> object:
    """Elasticity per item with its interval, grouped by category."""
    rows = table.join(catalog.select("item_id", "category"), on="item_id", how="left").sort(
        "category", "elasticity"
    )
    fig, ax = plt.subplots(figsize=(9, 4))
    x = np.arange(rows.height)
    ax.vlines(x, rows["ci_low"], rows["ci_high"], color="0.75", linewidth=0.6)
    ax.scatter(x, rows["elasticity"], s=4, c=rows["category"].rank("dense").to_numpy(),
               cmap="tab10")  # fmt: skip
    ax.scatter(x, rows["naive"], s=2, color="black", alpha=0.3, label="naive log-log")
    ax.set_xlabel("items, grouped by category")
    ax.set_ylabel("own-price elasticity")
    ax.set_title("DML elasticity with its interval (colour: category)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def estimates_path(data_dir: Path) -> Path:
    """Where the shop's latest elasticity table is kept (read by ``price propose``)."""
    return workspace(data_dir).pricing / ESTIMATES_FILE


def read_estimates(data_dir: Path) -> pl.DataFrame:
    """The shop's latest elasticity table.

    Raises:
        FileNotFoundError: No estimates yet.
    """
    path = estimates_path(data_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"no elasticity estimates in {data_dir}; run `storefront train elasticity`"
        )
    return pl.read_parquet(path)


@dataclass
class ElasticityReport:
    """Per-item elasticities and the promotion response by price-sensitivity tier."""

    estimates: pl.DataFrame
    promotion: pl.DataFrame
    model_version: str | None = None
    published: Path | None = None
    """Where the estimates were published for pricing (``None``: the version is a
    challenger; promoting it publishes them)."""


def _promotion(data_dir: Path, events: pl.DataFrame, prices: pl.DataFrame,
               confidence: float) -> pl.DataFrame:  # fmt: skip
    folder = USER.offline_dir(store_dir(data_dir))
    users = pl.read_parquet(folder / "*.parquet", columns=["user_id", "event_timestamp",
                                                           "paid_to_base_ratio"])  # fmt: skip
    return promotion_response(view_outcomes(events, prices), shopper_tiers(users), confidence)


def train_elasticity(data_dir: Path, cfg: ElasticityConfig) -> ElasticityReport:
    """Estimate elasticities (and the promotion response by tier, where the shop has
    events and a prices feed) for the shop in ``data_dir`` (feature store required),
    record the run in MLflow and register the tables as a version of
    ``cfg.model_name``; pricing gets them at once when that version is the champion (or
    the shop has no estimates yet), else when it is promoted."""
    feeds = read_feeds(data_dir, required=("catalog",))
    demand = read_demand(data_dir)
    table = estimate(demand, feeds.catalog, cfg)
    promotion = pl.DataFrame()
    if feeds.events is not None and feeds.prices is not None:
        promotion = _promotion(data_dir, feeds.events, feeds.prices, cfg.confidence)
    use_experiment(cfg.tracking_uri, cfg.experiment)
    tags = run_tags(FAMILY, data_dir, cfg, day_range(demand, "period_start"))
    with tracked_run(run_name(FAMILY, data_dir), tags=tags), tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({"data_dir": str(Path(data_dir).resolve()), "items": table.height,
                           **cfg.model_dump(exclude={"tracking_uri", "gate"})})  # fmt: skip
        log_dataset(demand, DEMAND.offline_dir(store_dir(data_dir)), "training", "demand rows",
                    targets="units")  # fmt: skip
        log_dataset(feeds.catalog, workspace(data_dir).feed_file(SCHEMAS["catalog"].file_name),
                    "training", "catalog")  # fmt: skip
        mlflow.log_metrics(
            {
                "estimates/median_elasticity": float(table["elasticity"].median()),
                "estimates/median_naive": float(table["naive"].median()),
                "estimates/median_interval_width": float(
                    (table["ci_high"] - table["ci_low"]).median()
                ),
                "estimates/share_own_data": float((table["method"] == "dml").mean()),
                "estimates/implausible": float(table["implausible"].sum()),
                "estimates/share_implausible": float(table["implausible"].mean()),
            }
            | {f"promotion_response/{r['tier']}": r["response"]
               for r in promotion.iter_rows(named=True) if r["response"] == r["response"]}
        )  # fmt: skip
        fig = _plot(table, feeds.catalog)
        mlflow.log_figure(fig, "plots/elasticity.png")
        plt.close(fig)
        files = {ESTIMATES_FILE: table} | ({PROMOTION_FILE: promotion} if promotion.height else {})
        for name, frame in files.items():
            frame.write_parquet(Path(tmp) / name)
            mlflow.log_artifact(str(Path(tmp) / name), ESTIMATES_ARTIFACT)
        version = register(log_estimates(Path(tmp) / ESTIMATES_FILE), cfg.model_name, FAMILY)
    report = ElasticityReport(table, promotion, version)
    path = estimates_path(data_dir)
    if alias_version(cfg.model_name, CHAMPION) == version or not path.exists():
        for name, frame in files.items():
            write_atomically(frame, path.parent / name)
        report.published = path
    return report
