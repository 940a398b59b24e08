"""Pricing guardrails and objective (``configs/pricing.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from storefront.config import Settings


class PriceBounds(Settings):
    """Allowed price range as multiples of the item's base price."""

    min_ratio: float = Field(default=0.5, gt=0)
    max_ratio: float = Field(default=1.5, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PriceBounds:
        if self.min_ratio > self.max_ratio:
            raise ValueError("min_ratio must not exceed max_ratio")
        return self


class ExplorationConfig(Settings):
    """Thompson-sampling price tests for items whose elasticity is uncertain."""

    enabled: bool = False
    min_interval_width: float = Field(default=1.5, gt=0)
    """Items whose elasticity interval is at least this wide are explored."""
    max_share: float = Field(default=0.1, ge=0, le=1)
    """At most this share of the proposal's items explore on one day (the widest first)."""
    seed: int | None = None
    """Seed of the draws; ``None`` draws anew each run."""
    interval_level: float = Field(default=0.95, gt=0, lt=1)
    """Confidence level of the elasticity intervals (``configs/elasticity.yaml``)."""


class PricingConfig(Settings):
    """What the optimiser maximises and the guardrails it never crosses."""

    objective: Literal["profit", "revenue", "profit_with_volume_floor"] = "profit"
    volume_floor: float = Field(default=0.9, ge=0, le=1)
    """With ``profit_with_volume_floor``: expected units at least this share of today's."""
    grid_step: float = Field(default=0.01, gt=0, le=0.2)
    """Candidate prices every ``grid_step`` of the current price."""
    bounds: PriceBounds = Field(default_factory=PriceBounds)
    category_bounds: dict[str, PriceBounds] = Field(default_factory=dict)
    max_daily_change: float = Field(default=0.1, gt=0, le=1)
    """Largest relative move from the current price in one day."""
    margin_floor: float = Field(default=0.05, ge=0)
    """Price at least unit cost × (1 + margin_floor)."""
    price_ending: float | None = Field(default=0.99, ge=0, lt=1)
    """Prices end in this fraction (x.99); ``None`` rounds to the cent."""
    overstock_cover_days: float = Field(default=60.0, gt=0)
    """More cover than this: markdown only (no increase)."""
    short_cover_days: float = Field(default=7.0, ge=0)
    """Less cover than this and nothing on order: no discount."""
    auto_approve: bool = False
    """Publish proposals without the pricing team's sign-off."""
    exploration: ExplorationConfig = Field(default_factory=ExplorationConfig)

    def bounds_for(self, category: str | None) -> PriceBounds:
        """The category's bounds when configured, else the default ones."""
        return self.category_bounds.get(category or "", self.bounds)
