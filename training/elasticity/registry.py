"""The elasticity estimates as a registered model (``storefront-elasticity``): each
version carries its estimates table, so the estimates have champion and challenger
aliases like every model. Pricing reads the champion's table (published into the shop's
pricing folder); promotion judges the challenger's table against the champion's for the
shop's current catalogue with the gate of ``configs/elasticity.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import polars as pl

from storefront.feeds import read_feeds
from training.elasticity.config import ElasticityConfig
from training.registry import Gate, Promotion, Rule, promote_on_holdout, publish_artifacts
from training.tracking import use_experiment

__all__ = ["FAMILY", "EstimatesModel", "estimates_of", "gate", "log_estimates", "promote"]
FAMILY = "elasticity"
ARTIFACT_PATH = "elasticity"
ESTIMATES_ARTIFACT = "estimates"
"""Folder of an elasticity run's artifacts with its tables (what promotion publishes)."""
PIP_REQUIREMENTS = ["mlflow==3.17.2", "pandas==2.3.3", "polars==2.1.0"]


class EstimatesModel(mlflow.pyfunc.PythonModel):
    """The per-item estimates table: ``predict`` answers the rows of the items asked
    for (a frame with ``item_id``), or every row."""

    table: pd.DataFrame

    def load_context(self, context: Any) -> None:
        self.table = pd.read_parquet(context.artifacts["estimates"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        if "item_id" not in model_input.columns or model_input.empty:
            return self.table
        return self.table[self.table["item_id"].isin(model_input["item_id"])]


def log_estimates(table_file: Path) -> str:
    """Log the estimates table as a pyfunc model into the active run; its model URI."""
    info = mlflow.pyfunc.log_model(
        name=ARTIFACT_PATH,
        python_model=EstimatesModel(),
        artifacts={"estimates": str(table_file)},
        pip_requirements=PIP_REQUIREMENTS,
    )
    return info.model_uri


def estimates_of(model_uri: str) -> pl.DataFrame:
    """The estimates table a registered elasticity version holds."""
    model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    return pl.from_pandas(model.table)


def holdout_metrics(table: pl.DataFrame, items: pl.Series) -> dict[str, float]:
    """Share of implausible estimates and median interval width over ``items`` (the
    shop's current catalogue); an item without an estimate counts implausible."""
    if "implausible" not in table.columns:  # a table from before the plausibility flags
        table = table.with_columns(implausible=pl.lit(False))
    rows = pl.DataFrame({"item_id": items}).join(table, on="item_id", how="left")
    implausible = rows["implausible"].fill_null(True)
    width = (rows["ci_high"] - rows["ci_low"]).drop_nulls()
    return {
        "share_implausible": float(implausible.mean() or 0.0),
        "median_interval_width": float(width.median()) if width.len() else float(np.nan),
    }


def gate(cfg: ElasticityConfig) -> Gate:
    """Share of implausible estimates not worse beyond ``implausible_tolerance`` (primary)
    and at most ``max_implausible_share``; median interval width at most the champion's
    times ``1 + max_width_increase``."""
    g = cfg.gate
    share = "share_implausible"
    return Gate(
        Rule(share, "not_worse", g.implausible_tolerance, lower_is_better=True),
        (
            Rule(share, "at_most", g.max_implausible_share, True, label=f"{share} (limit)"),
            Rule("median_interval_width", "ratio", g.max_width_increase, True),
        ),
    )


def publish(name: str, version: str, data_dir: Path) -> tuple[list[Path], str | None]:
    """Write version ``version``'s estimates and promotion response (its run's
    artifacts) where pricing reads them."""
    from training.elasticity.pipeline import ESTIMATES_FILE, PROMOTION_FILE, estimates_path

    target = estimates_path(data_dir)
    files = {
        f"{ESTIMATES_ARTIFACT}/{ESTIMATES_FILE}": target,
        f"{ESTIMATES_ARTIFACT}/{PROMOTION_FILE}": target.parent / PROMOTION_FILE,
    }
    return publish_artifacts(name, version, data_dir, files)


def promote(name: str, data_dir: Path, cfg: ElasticityConfig, force: bool = False) -> Promotion:
    """Judge the challenger's estimates against the champion's for the shop's current
    catalogue; move ``champion`` (and publish its estimates for pricing) if every check
    passes, or if ``force``. One run of the ``promotions`` experiment.

    Raises:
        ValueError: No champion or challenger.
    """
    use_experiment(cfg.tracking_uri, "promotions")
    items: list[pl.Series] = []

    def score(uri: str) -> dict[str, float]:
        if not items:
            items.append(read_feeds(data_dir, required=("catalog",)).catalog["item_id"])
        return holdout_metrics(estimates_of(uri), items[0])

    return promote_on_holdout(
        name, score, gate(cfg), force, FAMILY,
        publish=lambda version: publish(name, version, data_dir), data_dir=data_dir,
    )  # fmt: skip
