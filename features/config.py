"""Settings of the feature store and its pipelines (``configs/features.yaml``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field

from storefront.config import Settings
from storefront.workspace import workspace


class SegmentRule(Settings):
    """An RFM segment: shoppers whose R and F scores (1-5) fall in the ranges."""

    name: str
    r_min: int = Field(default=1, ge=1, le=5)
    r_max: int = Field(default=5, ge=1, le=5)
    f_min: int = Field(default=1, ge=1, le=5)
    f_max: int = Field(default=5, ge=1, le=5)


def _default_segments() -> list[SegmentRule]:
    return [
        SegmentRule(name="champions", r_min=4, f_min=4),
        SegmentRule(name="loyal", r_min=3, f_min=4),
        SegmentRule(name="potential_loyalists", r_min=4, f_min=2, f_max=3),
        SegmentRule(name="recent", r_min=4, f_max=1),
        SegmentRule(name="at_risk", r_max=2, f_min=3),
        SegmentRule(name="hibernating", r_max=2, f_max=2),
        SegmentRule(name="need_attention"),
    ]


class UserFeatureConfig(Settings):
    """User features: windows, lifecycle thresholds and RFM segments."""

    windows_days: list[int] = Field(default_factory=lambda: [1, 7, 30], min_length=1)
    new_days: int = Field(default=14, ge=1)
    """Shoppers first seen this recently are ``new``."""
    active_days: int = Field(default=30, ge=1)
    """Active within this many days: ``active``; within ``at_risk_days``: ``at_risk``."""
    at_risk_days: int = Field(default=90, ge=1)
    new_buyer_days: int = Field(default=30, ge=1)
    """A first purchase this recent makes a one-time buyer ``new`` in the RFM segments."""
    segments: list[SegmentRule] = Field(default_factory=_default_segments, min_length=1)
    """Checked in order; the first matching rule names the segment."""
    top_categories: int = Field(default=3, ge=1)
    return_window_days: int = Field(default=90, ge=1)
    """``return_rate_{k}d``: units the shopper returned / units bought over this many days."""


class AffinityConfig(Settings):
    """User × category affinity: decayed, weighted interaction shares."""

    half_life_days: float = Field(default=30.0, gt=0)
    origin: dt.date = dt.date(2000, 1, 1)
    """Fixed day scores are grown from (log2 scores stay finite until about 2080)."""
    view_weight: float = Field(default=1.0, ge=0)
    cart_weight: float = Field(default=3.0, ge=0)
    purchase_weight: float = Field(default=5.0, ge=0)


class ItemFeatureConfig(Settings):
    """Item features: windows and the price-history horizon."""

    windows_days: list[int] = Field(default_factory=lambda: [1, 7, 30], min_length=1)
    lowest_price_days: int = Field(default=30, ge=1)
    cover_sales_days: int = Field(default=7, ge=1)
    """Days of cover = on hand / mean daily units over this many days."""
    return_window_days: int = Field(default=90, ge=1)
    """``return_rate_{k}d``: units returned / units bought over this many days."""


class DemandFeatureConfig(Settings):
    """Item × location × period demand rows for forecasting."""

    lags: list[int] = Field(default_factory=lambda: [1, 7, 14, 28])
    rolling_means: list[int] = Field(default_factory=lambda: [7, 28])
    location_id: str = "online"
    """Location of demand rows derived from events when there is no sales feed."""


class RecentActivityConfig(Settings):
    """Real-time recent activity kept per shopper (pushed to the online store)."""

    last_n_items: int = Field(default=20, ge=1)
    session_gap_minutes: int = Field(default=30, ge=1)


class StoreConfig(Settings):
    """Where Feast keeps things. Defaults are embedded; the scale profile swaps engines."""

    project: str = "storefront"
    online_store: Literal["sqlite", "redis"] = "sqlite"
    redis_connection_string: str = "127.0.0.1:6379"
    registry: Literal["file", "sql"] = "file"
    registry_url: str = "postgresql+psycopg://storefront:storefront@127.0.0.1:5432/feast"
    """SQLAlchemy URL of the SQL registry (scale profile)."""
    ttl_days: int = Field(default=400, ge=1)
    """How far back a point-in-time join looks for a feature row."""


class FeatureConfig(Settings):
    """Everything the feature store needs."""

    store: StoreConfig = Field(default_factory=StoreConfig)
    user: UserFeatureConfig = Field(default_factory=UserFeatureConfig)
    affinity: AffinityConfig = Field(default_factory=AffinityConfig)
    item: ItemFeatureConfig = Field(default_factory=ItemFeatureConfig)
    demand: DemandFeatureConfig = Field(default_factory=DemandFeatureConfig)
    recent: RecentActivityConfig = Field(default_factory=RecentActivityConfig)


def store_dir(data_dir: Path) -> Path:
    """Folder of the feature store (offline tables, registry, online store) of a shop.

    It is part of the shop's state, so it survives feed refreshes.
    """
    return workspace(data_dir).feature_store
