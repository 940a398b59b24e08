"""The global demand model: LightGBM tweedie for the mean, quantile models for the fan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import polars as pl

from storefront.engine import EngineConfig
from training.demand.config import DemandConfig
from training.demand.features import CATEGORICAL, SERIES, feature_columns
from training.distributed import Fit, Rows, fit_boosters


@dataclass
class DemandModel:
    """Point forecast (tweedie mean) plus one quantile model per configured quantile.

    ``engine``: where :meth:`fit` trains (``None``: this process; ``engine: ray``: Ray
    Train's distributed LightGBM). The boosters are the same kind either way.
    """

    cfg: DemandConfig
    engine: EngineConfig | None = None
    features: list[str] = field(default_factory=list)
    mean: lgb.Booster | None = None
    quantile_models: dict[float, lgb.Booster] = field(default_factory=dict)

    def _params(self, objective: str, **extra: float) -> dict[str, object]:
        c = self.cfg
        return {
            "objective": objective,
            "num_leaves": c.num_leaves,
            "learning_rate": c.learning_rate,
            "min_child_samples": c.min_child_samples,
            "feature_fraction": c.feature_fraction,
            "num_threads": c.threads,
            "verbosity": -1,
            **extra,
        }

    def _dataset(self, rows: pl.DataFrame, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            rows.select(self.features).to_pandas(),
            label=rows["units"].to_numpy(),
            categorical_feature=[c for c in CATEGORICAL if c in self.features],
            reference=reference,
            free_raw_data=False,
        )

    def fit(
        self,
        rows: pl.DataFrame,
        valid: pl.DataFrame | None = None,
        callbacks: list[Callable[..., None]] | None = None,
    ) -> DemandModel:
        """Train on uncensored rows (censored units are a lower bound, not demand).

        Args:
            rows: Model rows (``model_rows``).
            valid: Rows the mean model reports its tweedie loss on, as ``valid``, each
                round (for tuning and pruning).
            callbacks: LightGBM callbacks of the mean model.
        """
        train = most_recent(rows.filter(~pl.col("censored")), self.cfg.max_training_rows)
        self.features = feature_columns(train)
        power = self.cfg.tweedie_variance_power
        if self.engine is not None and self.engine.distributed:
            return self._fit_elsewhere(train, valid, callbacks)
        data = self._dataset(train)
        valid_sets = [] if valid is None else [self._dataset(valid, reference=data)]
        self.mean = lgb.train(
            self._params("tweedie", tweedie_variance_power=power),
            data,
            self.cfg.rounds,
            valid_sets=valid_sets,
            valid_names=["valid"][: len(valid_sets)],
            callbacks=callbacks,
        )
        self.quantile_models = {
            q: lgb.train(self._params("quantile", alpha=q), data, self.cfg.rounds // 2)
            for q in self.cfg.quantiles
        }
        return self

    def _rows(self, rows: pl.DataFrame) -> Rows:
        categorical = [c for c in CATEGORICAL if c in self.features]
        return Rows(rows.select(self.features).to_pandas(), rows["units"].to_numpy(), categorical)

    def _fit_elsewhere(
        self,
        train: pl.DataFrame,
        valid: pl.DataFrame | None,
        callbacks: list[Callable[..., None]] | None,
    ) -> DemandModel:
        """The same fits on the engine (:func:`training.distributed.fit_boosters`)."""
        power, rounds = self.cfg.tweedie_variance_power, self.cfg.rounds
        mean = Fit(self._params("tweedie", tweedie_variance_power=power), rounds,
                   evaluate=valid is not None, callbacks=list(callbacks or []))  # fmt: skip
        quantiles = [
            Fit(self._params("quantile", alpha=q), rounds // 2) for q in self.cfg.quantiles
        ]
        boosters = fit_boosters(
            [mean, *quantiles],
            self._rows(train),
            valid=None if valid is None else self._rows(valid),
            engine=self.engine,
        )
        self.mean = boosters[0]
        self.quantile_models = dict(zip(self.cfg.quantiles, boosters[1:], strict=True))
        return self

    def predict(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``forecast`` (mean) and ``p10``/``p50``/``p90``-style quantile columns, sorted so
        quantiles never cross."""
        assert self.mean is not None, "fit the model first"
        x = rows.select(self.features).to_pandas()
        out = {"forecast": np.maximum(self.mean.predict(x), 0.0)}
        if self.quantile_models:
            qs = sorted(self.quantile_models)
            stacked = np.sort(
                np.maximum(np.column_stack([self.quantile_models[q].predict(x) for q in qs]), 0.0),
                axis=1,
            )
            out |= {quantile_name(q): stacked[:, k] for k, q in enumerate(qs)}
        return rows.select("item_id", "location_id", "period_start").with_columns(
            **{k: pl.Series(v) for k, v in out.items()}
        )


def most_recent(rows: pl.DataFrame, limit: int) -> pl.DataFrame:
    """At most ``limit`` rows, the most recent periods of every series: whole periods
    are dropped from the oldest on (a cap never drops a series while it keeps older
    periods of another). Rows keep their order.

    Args:
        rows: Model rows with ``period_start``.
        limit: Most rows kept.

    Returns:
        ``rows`` from the earliest period at which the newest periods still fit in
        ``limit``; when even the newest period has more rows, that period's rows by
        series order, cut to ``limit``.
    """
    if rows.height <= limit:
        return rows
    per_period = rows.group_by("period_start").len().sort("period_start", descending=True)
    fits = per_period.filter(pl.col("len").cum_sum() <= limit)
    if fits.is_empty():
        return rows.sort("period_start", *SERIES).tail(limit)
    return rows.filter(pl.col("period_start") >= fits["period_start"].min())


def quantile_name(q: float) -> str:
    """``0.1`` -> ``p10``."""
    return f"p{round(q * 100):d}"
