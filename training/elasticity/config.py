"""Settings of price-elasticity estimation (``configs/elasticity.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from storefront.config import Settings


class GateConfig(Settings):
    """The quality gate of ``models promote``: the challenger's estimates against the
    champion's, for the items of the shop's current catalogue."""

    implausible_tolerance: float = Field(default=0.02, ge=0, le=1)
    """The challenger's share of implausible estimates may be at most this much above
    the champion's (the primary check)."""
    max_implausible_share: float = Field(default=0.3, ge=0, le=1)
    """Most share of implausible estimates the challenger may have."""
    max_width_increase: float = Field(default=0.25, ge=0)
    """The challenger's median interval width may be at most the champion's times
    ``1 + max_width_increase``."""


class ElasticityConfig(Settings):
    """Nuisance models, cross-fitting and shrinkage."""

    folds: int = Field(default=2, ge=2)
    """Cross-fitting folds, by item-week: each item's level is learned from its other
    weeks, each day's shocks from the other items that day."""
    fold_block_days: int = Field(default=7, ge=1)
    """Length of the item's runs of days that fall in one fold (7: item-weeks)."""
    price_lag_days: int = Field(default=7, ge=1)
    """The price this many days before (at least one period) is a control, and the price
    model predicts the change from it: shops reprice from the price they had, on a cycle
    (7: weekly reviews), so that price is the policy's main input."""
    adjust_nuisance: bool = True
    """Give each item its own linear correction of the nuisance predictions in the final
    stage (``training.elasticity.pipeline.nuisance_adjustment``)."""
    rounds: int = Field(default=300, ge=1)
    num_leaves: int = Field(default=31, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    threads: int = Field(default=2, ge=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    seed: int = 0
    cluster: Literal["auto", "location", "block"] = "auto"
    """Clusters of the robust variances: ``location`` (rows of a store are correlated),
    ``block`` (runs of ``block_days`` consecutive days of an item and location), or
    ``auto``: location where the data have at least ``min_cluster_locations``, else block."""
    min_cluster_locations: int = Field(default=8, ge=2)
    block_days: int = Field(default=28, ge=1)
    max_abs_elasticity: float = Field(default=8.0, gt=0)
    """Estimates beyond this magnitude are flagged implausible (never priced on)."""
    min_width_sqrt_rows: float = Field(default=0.5, ge=0)
    """Intervals narrower than ``min_width_sqrt_rows / sqrt(n_obs)`` are flagged
    implausibly narrow (a slope that a few rows pin down exactly is a degenerate fit)."""
    tracking_uri: str | None = None
    experiment: str = "elasticity"
    model_name: str = "storefront-elasticity"
    """Registered model whose versions hold the estimates (champion: what pricing reads)."""
    gate: GateConfig = Field(default_factory=GateConfig)
