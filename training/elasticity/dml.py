"""Double machine learning of own-price elasticities on demand rows.

Shops set prices in response to demand (raise when it runs high, mark down when stock
piles up), so a plain regression of units on price mixes the two directions. Here:

1. Nuisance models, cross-fitted by series with LightGBM: ``m(X)`` predicts log price
   and ``l(X)`` expected units from the controls X — calendar, promotion, lagged and
   trailing demand, item and location — but never from price.
2. Per item, a Poisson regression of units on the price residual ``log p - m(X)`` with
   ``log l(X)`` as offset: the residual is the part of the price the controls do not
   explain, so its slope is the elasticity. Randomised price tests need no special
   case: their prices are exogenous, so all of their variation stays in the residual.
3. Each item's slope is shrunk toward its category's pooled slope (empirical Bayes,
   with a robust estimate of how much items differ), which also gives its interval.

The naive estimate — the same Poisson regression on log price with no controls — is
reported beside it.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import polars as pl

from training.demand.features import CATEGORICAL
from training.elasticity.config import ElasticityConfig

CONTROLS_EXCLUDED = ("price", "discount", "relative_price", "units", "censored", "period_start",
                     "item_id", "location_id", "price_test")  # fmt: skip


def controls(rows: pl.DataFrame) -> list[str]:
    """Columns the nuisance models may use: everything that is not price or outcome."""
    return [c for c in rows.columns if c not in CONTROLS_EXCLUDED]


def _fit_predict(
    train: pl.DataFrame, test: pl.DataFrame, target: np.ndarray, objective: str,
    features: list[str], cfg: ElasticityConfig,
) -> np.ndarray:  # fmt: skip
    params = {"objective": objective, "num_leaves": cfg.num_leaves,
              "learning_rate": cfg.learning_rate, "num_threads": cfg.threads,
              "verbosity": -1, "seed": cfg.seed}  # fmt: skip
    data = lgb.Dataset(
        train.select(features).to_pandas(), label=target,
        categorical_feature=[c for c in CATEGORICAL if c in features],
    )  # fmt: skip
    return lgb.train(params, data, cfg.rounds).predict(test.select(features).to_pandas())


def residualise(rows: pl.DataFrame, cfg: ElasticityConfig) -> pl.DataFrame:
    """Cross-fitted ``price_residual`` and ``log_expected`` (offset) for every row."""
    features = controls(rows)
    # folds by item-week: each item's level is learned from its other weeks and each
    # day's shocks (promotion days, seasonality) from the other items that day
    week = pl.col("period_start").dt.epoch("d") // 7
    fold = (pl.struct("item_id", week.alias("week")).hash(cfg.seed) % cfg.folds).alias("fold")
    rows = rows.with_columns(fold, log_price=pl.col("price").log())
    parts = []
    for k in range(cfg.folds):
        train, test = rows.filter(pl.col("fold") != k), rows.filter(pl.col("fold") == k)
        if test.is_empty():
            continue
        price_hat = _fit_predict(train, test, train["log_price"].to_numpy(), "regression",
                                 features, cfg)  # fmt: skip
        units_hat = _fit_predict(train, test, train["units"].to_numpy(), "poisson", features, cfg)
        parts.append(
            test.with_columns(
                price_residual=pl.col("log_price") - pl.Series(price_hat),
                log_expected=pl.Series(np.log(np.maximum(units_hat, 1e-6))),
            )
        )
    return pl.concat(parts)


def poisson_slopes(
    group: np.ndarray, y: np.ndarray, x: np.ndarray, offset: np.ndarray, iterations: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the slope of ``y ~ Poisson(exp(a_g + offset + b_g x))`` and its standard
    error (Newton steps for every group at once)."""
    n = int(group.max()) + 1
    a, b = np.zeros(n), np.zeros(n)
    totals = np.bincount(group, y, n)
    a = np.log(np.maximum(totals, 1e-9) / np.maximum(np.bincount(group, np.exp(offset), n), 1e-9))
    for _ in range(iterations):
        mu = np.exp(np.clip(a[group] + offset + b[group] * x, -30, 30))
        g_a, g_b = np.bincount(group, y - mu, n), np.bincount(group, (y - mu) * x, n)
        h_aa, h_ab = np.bincount(group, mu, n) + 1e-9, np.bincount(group, mu * x, n)
        h_bb = np.bincount(group, mu * x * x, n) + 1e-9
        det = h_aa * h_bb - h_ab**2
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        a += (h_bb * g_a - h_ab * g_b) / det
        b += (h_aa * g_b - h_ab * g_a) / det
        b = np.clip(b, -20, 20)
    se = np.sqrt(h_aa / det)
    return b, se


def pooled(
    item: np.ndarray, category_of_item: np.ndarray, y: np.ndarray, x: np.ndarray,
    offset: np.ndarray, category: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Item slopes shrunk toward their category's pooled slope (empirical Bayes).

    Args:
        item: Item code per row.
        category_of_item: Category code per item.
        y, x, offset: Units, treatment and offset per row.
        category: Category code per row.

    Returns:
        Per item, the shrunk slope, its posterior standard deviation, and the weight of
        the item's own data (1 - the weight of its category).
    """
    own, own_se = poisson_slopes(item, y, x, offset)
    prior, prior_se = poisson_slopes(category, y, x, offset)
    frame = pl.DataFrame({"e": own, "v": own_se**2, "c": category_of_item})
    # how much items truly differ within a category: a robust spread (noisy items with
    # wild raw slopes must not inflate it) less the typical sampling variance
    mad = (pl.col("e") - pl.col("e").median()).abs().median() * 1.4826
    spread = frame.group_by("c").agg(
        tau2=(mad**2 - pl.col("v").median()).fill_null(0.0).clip(0.01, 1.0)
    )
    tau2 = frame.join(spread, on="c", how="left")["tau2"].to_numpy()
    mean, mean_var = prior[category_of_item], prior_se[category_of_item] ** 2
    weight = tau2 / (tau2 + frame["v"].to_numpy())
    shrunk = weight * own + (1 - weight) * mean
    posterior = np.sqrt(weight * frame["v"].to_numpy() + (1 - weight) ** 2 * mean_var)
    return shrunk, posterior, weight
