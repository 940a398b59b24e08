"""The model registry: promotion of a challenger, for every model family."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.shop import open_shop
from storefront.config import load_config
from storefront.progress import progress_bar

if TYPE_CHECKING:
    from training.registry import Promotion


def promote(
    name: str, data_dir: Path | None, config: Path | None = None, force: bool = False
) -> Promotion:
    """Compare ``name@challenger`` with ``name@champion`` on the same holdout and move
    ``champion`` unless the challenger is worse on the family's metric.

    Args:
        name: Registered model name.
        data_dir: The shop folder (its holdout judges both versions).
        config: The family's YAML (default ``configs/recommender.yaml`` or
            ``configs/demand.yaml``).
        force: Promote even if the challenger is worse (recorded).
    """
    folder = open_shop(data_dir)
    with progress_bar(f"comparing {name}@challenger with {name}@champion", None):
        if _is_demand_model(name):
            from training.demand.config import DemandConfig
            from training.demand.registry import promote_demand

            demand = load_config(DemandConfig, config, name="demand")
            return promote_demand(name, folder, demand, force=force)
        from training.recommender.config import RecommenderConfig
        from training.recommender.registry import promote as promote_recommender

        cfg = load_config(RecommenderConfig, config, name="recommender")
        return promote_recommender(name, folder, cfg, force=force)


def _is_demand_model(name: str) -> bool:
    """Whether the registered model's champion is a demand model (LightGBM flavor; the
    recommender is a Python model)."""
    import mlflow

    from training.registry import model_flavors
    from training.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(None))
    try:
        return "lightgbm" in model_flavors(name)
    except ValueError:
        return False  # no such model here: the recommender path names what is missing
