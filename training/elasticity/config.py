"""Settings of price-elasticity estimation (``configs/elasticity.yaml``)."""

from __future__ import annotations

from pydantic import Field

from storefront.config import Settings


class ElasticityConfig(Settings):
    """Nuisance models, cross-fitting and shrinkage."""

    folds: int = Field(default=2, ge=2)
    """Cross-fitting folds, by item-week: each item's level is learned from its other
    weeks, each day's shocks from the other items that day."""
    rounds: int = Field(default=300, ge=1)
    num_leaves: int = Field(default=31, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    threads: int = Field(default=2, ge=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    seed: int = 0
    tracking_uri: str | None = None
    experiment: str = "elasticity"
