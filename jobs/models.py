"""The model registry: promotion of a challenger, for every model family."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.shop import open_shop
from storefront.config import load_config

if TYPE_CHECKING:
    from training.registry import Promotion

FAMILIES = {
    "recommender": "storefront-recommender",
    "demand": "storefront-demand",
    "elasticity": "storefront-elasticity",
}
"""Model family -> the registered model its trainings register by default."""


def family_of(name: str) -> str:
    """The family of registered model ``name``: its ``storefront.family`` tag, else the
    default name it has (:data:`FAMILIES`), else its flavour (LightGBM: demand), else
    ``recommender`` (whose path names what is missing)."""
    import mlflow

    from training.registry import model_family, model_flavors
    from training.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(None))
    tagged = model_family(name)
    if tagged in FAMILIES:
        return tagged
    by_name = {model: family for family, model in FAMILIES.items()}
    if name in by_name:
        return by_name[name]
    try:
        return "demand" if "lightgbm" in model_flavors(name) else "recommender"
    except ValueError:
        return "recommender"


def promote(
    name: str, data_dir: Path | None, config: Path | None = None, force: bool = False
) -> Promotion:
    """Judge ``name@challenger`` against ``name@champion`` on the same fresh holdout with
    the family's quality gate and move ``champion`` when every check passes (or when
    forced); a promoted demand or elasticity version's outputs are published where
    pricing and serving read them.

    Args:
        name: Registered model name, or a family name (``recommender``, ``demand``,
            ``elasticity``: its default registered model).
        data_dir: The shop folder (its holdout judges both versions).
        config: The family's YAML (default ``configs/<family>.yaml``).
        force: Promote even if a check fails (recorded).
    """
    folder = open_shop(data_dir)
    name = FAMILIES.get(name, name)
    family = family_of(name)
    if family == "demand":
        from training.demand.config import DemandConfig
        from training.demand.registry import promote_demand

        return promote_demand(name, folder, load_config(DemandConfig, config, name="demand"),
                              force=force)  # fmt: skip
    if family == "elasticity":
        from training.elasticity.config import ElasticityConfig
        from training.elasticity.registry import promote as promote_elasticity

        cfg = load_config(ElasticityConfig, config, name="elasticity")
        return promote_elasticity(name, folder, cfg, force=force)
    from training.recommender.config import RecommenderConfig
    from training.recommender.registry import promote as promote_recommender

    cfg = load_config(RecommenderConfig, config, name="recommender")
    return promote_recommender(name, folder, cfg, force=force)
