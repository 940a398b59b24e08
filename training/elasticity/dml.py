"""Double machine learning of own-price elasticities on demand rows.

Shops set prices in response to demand (raise when it runs high, mark down when stock
piles up), so a plain regression of units on price mixes the two directions. Here:

1. Nuisance models, cross-fitted by series with LightGBM: ``m(X)`` predicts log price
   and ``l(X)`` expected units from the controls X — calendar, promotion, lagged and
   trailing demand, the price and promotion one repricing cycle before, item and
   location — but never from the period's own price. Shops reprice from the price they
   had, so ``m`` starts from the price before (LightGBM's initial score) and learns the
   change: trees approximate a level that carries over poorly, and whatever of the
   policy ``m`` misses stays in the residual, where it carries the demand shocks the
   policy reacted to into the slope.
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

PRICE_BEFORE = "log_price_before"
"""Control: the log price one repricing cycle before the period (null where unknown)."""
ITEM_PRICE = "item_log_price"
"""Control: the item's mean log price (the price model's start where the price before
is unknown)."""
SLOPE_LIMIT = 20.0
"""Slopes are kept within ±20 (a group whose data cannot bound its slope hits this)."""
CONTROLS_EXCLUDED = ("price", "discount", "relative_price", "units", "censored", "period_start",
                     "item_id", "location_id", "price_test")  # fmt: skip


def controls(rows: pl.DataFrame) -> list[str]:
    """Columns the nuisance models may use: everything that is not price or outcome."""
    return [c for c in rows.columns if c not in CONTROLS_EXCLUDED]


def _fit_predict(
    train: pl.DataFrame, test: pl.DataFrame, target: np.ndarray, objective: str,
    features: list[str], cfg: ElasticityConfig, start: pl.Expr | None = None,
) -> np.ndarray:  # fmt: skip
    """Fit on ``train`` and predict ``test``; ``start``: each row's initial score (the
    model learns the difference from it)."""
    params = {"objective": objective, "num_leaves": cfg.num_leaves,
              "learning_rate": cfg.learning_rate, "num_threads": cfg.threads,
              "verbosity": -1, "seed": cfg.seed}  # fmt: skip

    def initial(rows: pl.DataFrame) -> np.ndarray | None:
        return None if start is None else rows.select(start).to_series().to_numpy()

    data = lgb.Dataset(
        train.select(features).to_pandas(), label=target, init_score=initial(train),
        categorical_feature=[c for c in CATEGORICAL if c in features],
    )  # fmt: skip
    predicted = lgb.train(params, data, cfg.rounds).predict(test.select(features).to_pandas())
    begin = initial(test)
    return predicted if begin is None else predicted + begin


def residualise(rows: pl.DataFrame, cfg: ElasticityConfig) -> pl.DataFrame:
    """Cross-fitted ``price_residual`` and ``log_expected`` (offset) for every row."""
    features = controls(rows)
    # folds by item-week: each item's level is learned from its other weeks and each
    # day's shocks (promotion days, seasonality) from the other items that day
    block = pl.col("period_start").dt.epoch("d") // cfg.fold_block_days
    fold = (pl.struct("item_id", block.alias("block")).hash(cfg.seed) % cfg.folds).alias("fold")
    rows = rows.with_columns(fold, log_price=pl.col("price").log())
    start = None
    if PRICE_BEFORE in rows.columns:
        start = pl.coalesce(PRICE_BEFORE, ITEM_PRICE, pl.col("log_price").mean())
    parts = []
    for k in range(cfg.folds):
        train, test = rows.filter(pl.col("fold") != k), rows.filter(pl.col("fold") == k)
        if test.is_empty():
            continue
        price_hat = _fit_predict(train, test, train["log_price"].to_numpy(), "regression",
                                 features, cfg, start)  # fmt: skip
        units_hat = _fit_predict(train, test, train["units"].to_numpy(), "poisson", features, cfg)
        parts.append(
            test.with_columns(
                price_residual=pl.col("log_price") - pl.Series(price_hat),
                log_price_hat=pl.Series(price_hat),
                log_expected=pl.Series(np.log(np.maximum(units_hat, 1e-6))),
            )
        )
    return pl.concat(parts)


def poisson_fit(
    group: np.ndarray, y: np.ndarray, design: np.ndarray, offset: np.ndarray,
    cluster: np.ndarray | None = None, iterations: int = 30, model_variance: bool = False,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per group, ``y ~ Poisson(exp(offset + design @ beta_g))`` by Newton steps for every
    group at once, with a cluster-robust (sandwich) covariance.

    The covariance is the cluster-robust sandwich of the Poisson score
    ``s_i = (y_i - mu_i) z_i``:
    in its jackknife (CR3) form, which keeps its level with few, unequal clusters:
    ``V_g = (C_g - 1) / C_g * sum_c d_c d_c^T`` with ``d_c = (H_g - H_c)^-1 S_c``, the
    one-step change of the coefficients when cluster ``c`` is left out. Here
    ``H_g = sum_i mu_i z_i z_i^T`` is the group's bread, ``H_c`` its part from cluster
    ``c``, ``S_c = sum_{i in c} s_i`` the cluster's score and ``C_g`` the number of
    clusters (a group with one cluster gets ``H_g^-1 S S^T H_g^-1``). It stays valid
    when counts are overdispersed (the Poisson mean equation stays right while its
    variance = mean does not) and when rows of a cluster (a store, a block of weeks)
    are correlated; with every row its own cluster it is the Huber–White estimator.

    Args:
        group: Group code per row (0..G-1).
        y: Counts.
        design: Regressors per row (n × k); the first column must be the intercept (1).
        offset: Offset per row (log scale).
        cluster: Cluster code per row (clusters nest in groups or are split by them);
            ``None``: every row is its own cluster.
        iterations: Newton steps.
        model_variance: Return the Poisson model's own covariance ``H_g^-1`` instead
            (valid only for independent rows with variance = mean; for comparison).

    Returns:
        Coefficients (G × k) and their covariance (G × k × k).
    """
    n, k = int(group.max()) + 1, design.shape[1]
    beta = np.zeros((n, k))
    totals = np.bincount(group, y, n)
    beta[:, 0] = np.log(
        np.maximum(totals, 1e-9) / np.maximum(np.bincount(group, np.exp(offset), n), 1e-9)
    )
    ridge = 1e-9 * np.eye(k)
    for _ in range(iterations):
        mu = np.exp(np.clip(offset + np.einsum("ij,ij->i", design, beta[group]), -30, 30))
        grad = np.stack([np.bincount(group, (y - mu) * design[:, j], n) for j in range(k)], 1)
        hess = _outer_sums(group, design, mu, n) + ridge
        # pinv: a group without price variation (or with tiny means) has a singular
        # Hessian; its flat directions then stay where they are instead of failing
        beta += (np.linalg.pinv(hess) @ grad[:, :, None])[:, :, 0]
        beta[:, 1:] = np.clip(beta[:, 1:], -SLOPE_LIMIT, SLOPE_LIMIT)
    mu = np.exp(np.clip(offset + np.einsum("ij,ij->i", design, beta[group]), -30, 30))
    information = _outer_sums(group, design, mu, n) + ridge
    bread = np.linalg.pinv(information)
    if model_variance:
        return beta, bread
    keys = np.arange(len(y)) if cluster is None else cluster
    _, cell = np.unique(group * (int(keys.max()) + 1) + keys, return_inverse=True)
    cell = cell.ravel()
    cells = int(cell.max()) + 1
    scores = np.stack([np.bincount(cell, (y - mu) * design[:, j], cells) for j in range(k)], 1)
    cell_group = np.zeros(cells, dtype=np.int64)
    cell_group[cell] = group
    # the cluster jackknife, one Newton step from the fit: leaving cluster c out moves
    # beta by -(H_g - H_c)^-1 S_c (H_c: the cluster's share of the bread)
    hess_cell = _outer_sums(cell, design, mu, cells)
    count = np.bincount(cell_group, minlength=n).astype(float)
    rest = information[cell_group] - hess_cell
    solvable = (count[cell_group] > 1) & (np.linalg.det(rest) > 1e-12 * np.abs(
        np.linalg.det(hess_cell + rest)))  # fmt: skip
    left_out = bread[cell_group]  # a group's only cluster (or a degenerate one): CR0
    left_out[solvable] = np.linalg.pinv(rest[solvable] + ridge)
    moves = np.einsum("cjk,ck->cj", left_out, scores)
    meat = _outer_sums(cell_group, moves, np.ones(cells), n)
    factor = np.where(count > 1, (count - 1) / np.maximum(count, 1), 1.0)
    cov = factor[:, None, None] * meat
    return beta, cov


def _outer_sums(group: np.ndarray, z: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Per group, ``sum_i w_i z_i z_i^T`` (G × k × k)."""
    k = z.shape[1]
    out = np.zeros((n, k, k))
    for j in range(k):
        for m in range(j, k):
            out[:, j, m] = out[:, m, j] = np.bincount(group, w * z[:, j] * z[:, m], n)
    return out


def poisson_slopes(
    group: np.ndarray, y: np.ndarray, x: np.ndarray, offset: np.ndarray,
    cluster: np.ndarray | None = None, iterations: int = 30, model_variance: bool = False,
    adjust: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per group, the slope of ``y ~ Poisson(exp(a_g + offset + b_g x + c_g' adjust))``
    and its cluster-robust standard error (see :func:`poisson_fit`; ``cluster=None``:
    the Huber–White sandwich, robust to overdispersion but not to correlated rows).
    ``adjust`` (n × j, optional) holds further regressors whose group coefficients are
    fitted alongside and not reported."""
    columns = [np.ones(len(y)), x] + ([] if adjust is None else list(np.atleast_2d(adjust.T)))
    design = np.column_stack(columns)
    beta, cov = poisson_fit(group, y, design, offset, cluster, iterations, model_variance)
    return beta[:, 1], np.sqrt(np.maximum(cov[:, 1, 1], 0.0))


def pooled(
    item: np.ndarray, category_of_item: np.ndarray, y: np.ndarray, x: np.ndarray,
    offset: np.ndarray, category: np.ndarray, cluster: np.ndarray | None = None,
    adjust: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Item slopes shrunk toward their category's pooled slope (empirical Bayes).

    With item slope ``b_i`` (cluster-robust variance ``v_i``, see :func:`poisson_fit`),
    category slope ``m`` (variance ``s^2``) and spread of true item slopes ``tau^2``:
    ``w_i = tau^2 / (tau^2 + v_i)``, estimate ``w_i b_i + (1 - w_i) m`` and posterior
    variance ``w_i v_i + (1 - w_i)^2 s^2``.

    Args:
        item: Item code per row.
        category_of_item: Category code per item.
        y, x, offset: Units, treatment and offset per row.
        category: Category code per row.
        cluster: Cluster code per row for the robust variances (``None``: rows).
        adjust: Further regressors per row (n × j) with their own item (and category)
            coefficients, see :func:`poisson_slopes`.

    Returns:
        Per item, the shrunk slope, its posterior standard deviation, the weight of
        the item's own data (1 - the weight of its category), and its category's pooled
        slope with that slope's standard error.
    """
    own, own_se = poisson_slopes(item, y, x, offset, cluster, adjust=adjust)
    prior, prior_se = poisson_slopes(category, y, x, offset, cluster, adjust=adjust)
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
    return shrunk, posterior, weight, mean, np.sqrt(mean_var)
