"""Settings of the storefront simulator (``configs/simulation.yaml``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from storefront.clock import SystemClock
from storefront.config import Settings
from storefront.feeds.schemas import MAX_RETURN_REASON


class TierConfig(Settings):
    """A price-sensitivity tier of shoppers (the pricing team's income tiers).

    ``elasticity_multiplier`` scales every item's elasticity for shoppers of the tier;
    ``promo_lift`` multiplies their add-to-cart probability when an item is on promotion.
    """

    name: str
    share: float = Field(gt=0, le=1)
    elasticity_multiplier: float = Field(gt=0)
    promo_lift: float = Field(ge=1)


class SeasonalityConfig(Settings):
    """Traffic seasonality: weekly profile, yearly wave and site-wide promotion days."""

    weekly: list[float] = Field(
        default=[0.95, 0.92, 0.93, 0.97, 1.05, 1.1, 1.08], min_length=7, max_length=7
    )
    yearly_amplitude: float = Field(default=0.25, ge=0, lt=1)
    yearly_peak_day: int = Field(default=345, ge=1, le=366)
    promo_days: int = Field(default=6, ge=0)
    promo_traffic_lift: float = Field(default=1.6, ge=1)
    promo_item_share: float = Field(default=0.3, ge=0, le=1)
    promo_discount: float = Field(default=0.2, ge=0, lt=1)


class BehaviourConfig(Settings):
    """Sessions and the view → add_to_cart → purchase choice model."""

    sessions_per_day: float = Field(default=1650, gt=0)
    views_per_session: float = Field(default=6.0, ge=1)
    category_temperature: float = Field(default=3.0, gt=0)
    cart_rate: float = Field(default=0.06, gt=0, le=1)
    taste_weight: float = Field(default=1.0, ge=0)
    purchase_given_cart: float = Field(default=0.45, gt=0, le=1)
    extra_quantity_mean: float = Field(default=0.3, ge=0)
    demand_shock_ar: float = Field(default=0.9, ge=0, lt=1)
    demand_shock_sd: float = Field(default=0.15, ge=0)


class CatalogConfig(Settings):
    """Items, categories, prices, costs and true elasticities."""

    n_items: int = Field(default=2000, ge=10)
    n_categories: int = Field(default=20, ge=2)
    taste_dim: int = Field(default=16, ge=2)
    elasticity_range: tuple[float, float] = (-4.0, -0.5)
    item_elasticity_sd: float = Field(default=0.15, ge=0)
    popularity_sigma: float = Field(default=1.0, ge=0)
    median_price: float = Field(default=25.0, gt=0)
    unit_cost_share: tuple[float, float] = (0.4, 0.75)
    new_item_share: float = Field(default=0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _check_ranges(self) -> CatalogConfig:
        low, high = self.elasticity_range
        if not low < high < 0:
            raise ValueError("elasticity_range must be (low, high) with low < high < 0")
        if not 0 <= self.unit_cost_share[0] <= self.unit_cost_share[1] < 1:
            raise ValueError("unit_cost_share must be (low, high) with 0 <= low <= high < 1")
        return self


class InventoryConfig(Settings):
    """Reorder-point policy with lead times; some items are run short or overstocked."""

    lead_time_days: tuple[int, int] = (2, 10)
    safety_days: float = Field(default=4.0, ge=0)
    test_safety_days: float = Field(default=21.0, ge=0)
    """Items under a price test are stocked generously so stock-outs do not censor the test."""
    cycle_days: float = Field(default=14.0, gt=0)
    understock_share: float = Field(default=0.1, ge=0, le=1)
    overstock_share: float = Field(default=0.1, ge=0, le=1)
    overstock_multiplier: float = Field(default=4.0, ge=1)


class PricingPolicyConfig(Settings):
    """The shop's historical pricing: reacts to demand and stock, plus randomised tests."""

    review_every_days: int = Field(default=7, ge=1)
    raise_when_demand_ratio: float = Field(default=1.2, gt=1)
    raise_step: float = Field(default=0.06, gt=0)
    max_markup: float = Field(default=1.3, ge=1)
    markdown_cover_days: float = Field(default=40.0, gt=0)
    markdown_step: float = Field(default=0.1, gt=0, lt=1)
    max_markdown: float = Field(default=0.7, gt=0, le=1)
    test_share: float = Field(default=0.1, ge=0, le=1)
    test_levels: list[float] = Field(default=[0.8, 0.9, 1.0, 1.1, 1.2], min_length=2)
    test_period_days: int = Field(default=7, ge=1)


RETURN_REASONS = ["wrong size", "damaged", "not as described", "changed mind", "arrived late"]


class ReturnsConfig(Settings):
    """Returns after purchases (``simulator.returns``): a share by category and price."""

    enabled: bool = True
    rate_range: tuple[float, float] = (0.03, 0.15)
    """Each category's return probability at its median price, drawn from this range."""
    category_rates: dict[str, float] = Field(default_factory=dict)
    """Category name -> return probability at its median price, replacing the drawn one."""
    price_exponent: float = Field(default=0.5, ge=0)
    """How the probability rises with price: ``(price / category median) ** exponent``."""
    max_rate: float = Field(default=0.6, gt=0, le=1)
    """No purchase is returned with a higher probability."""
    delay_days: tuple[int, int] = (1, 30)
    """A return comes this many days (uniform, inclusive) after its purchase."""
    reasons: list[str] = Field(default_factory=lambda: list(RETURN_REASONS), min_length=1)
    """The reasons a return names (one drawn uniformly)."""

    @model_validator(mode="after")
    def _check_ranges(self) -> ReturnsConfig:
        low, high = self.rate_range
        if not 0 <= low <= high <= 1:
            raise ValueError("rate_range must be (low, high) with 0 <= low <= high <= 1")
        bad = {k: v for k, v in self.category_rates.items() if not 0 <= v <= 1}
        if bad:
            name, rate = next(iter(bad.items()))
            raise ValueError(f"category_rates.{name}: {rate:g} is not a probability (0 to 1)")
        if not 0 <= self.delay_days[0] <= self.delay_days[1]:
            raise ValueError("delay_days must be (low, high) with 0 <= low <= high")
        too_long = [r for r in self.reasons if not 0 < len(r) <= MAX_RETURN_REASON]
        if too_long:
            raise ValueError(
                f"reasons: {too_long[0]!r} must be 1 to {MAX_RETURN_REASON} characters"
            )
        return self


class SimulationConfig(Settings):
    """Everything the simulator needs; deterministic given ``seed``."""

    seed: int = 42
    start_date: dt.date | None = None
    """First simulated day. Default: ``days`` before ``end_date`` (given, it wins)."""
    end_date: dt.date | None = None
    """The day after the last simulated one (the history ends at its 00:00 UTC).
    Default: ``start_date + days`` when a start is given, else today (UTC), so the demo
    shop is current. Pin a start or an end for reproducible dates: the same config,
    seed and dates give the same data."""
    days: int = Field(default=180, ge=14)
    n_users: int = Field(default=20_000, ge=10)
    new_user_share: float = Field(default=0.2, ge=0, lt=1)
    activity_shape: float = Field(default=0.6, gt=0)
    tiers: list[TierConfig] = Field(
        default_factory=lambda: [
            TierConfig(name="budget", share=0.3, elasticity_multiplier=1.3, promo_lift=1.5),
            TierConfig(name="standard", share=0.5, elasticity_multiplier=1.0, promo_lift=1.2),
            TierConfig(name="premium", share=0.2, elasticity_multiplier=0.55, promo_lift=1.0),
        ],
        min_length=1,
    )
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    behaviour: BehaviourConfig = Field(default_factory=BehaviourConfig)
    seasonality: SeasonalityConfig = Field(default_factory=SeasonalityConfig)
    inventory: InventoryConfig = Field(default_factory=InventoryConfig)
    pricing: PricingPolicyConfig = Field(default_factory=PricingPolicyConfig)
    returns: ReturnsConfig = Field(default_factory=ReturnsConfig)

    @model_validator(mode="after")
    def _check_dates(self) -> SimulationConfig:
        if self.start_date is not None and self.end_date is not None:
            span = (self.end_date - self.start_date).days
            if "days" not in self.model_fields_set:
                if span < 14:
                    raise ValueError(f"end_date must be at least 14 days after start_date: {span}")
                self.days = span
            elif span != self.days:
                raise ValueError(
                    f"start_date {self.start_date} + days {self.days} is not "
                    f"end_date {self.end_date}: give two of the three"
                )
        return self

    @property
    def start(self) -> dt.date:
        """The first simulated day (``start_date``, else ``days`` before :attr:`end`)."""
        if self.start_date is not None:
            return self.start_date
        return self.end - dt.timedelta(days=self.days)

    @property
    def end(self) -> dt.date:
        """The day after the last simulated one: ``start_date + days``, else
        ``end_date``, else today (UTC)."""
        if self.start_date is not None:
            return self.start_date + dt.timedelta(days=self.days)
        if self.end_date is not None:
            return self.end_date
        return SystemClock().now().date()

    def resolved(self) -> SimulationConfig:
        """The same config with both dates pinned (what a simulation ran on, so that a
        saved ground truth answers for the same days whenever it is read again)."""
        start = self.start
        return self.model_copy(
            update={"start_date": start, "end_date": start + dt.timedelta(days=self.days)}
        )

    @model_validator(mode="after")
    def _check_tiers(self) -> SimulationConfig:
        shares = sum(t.share for t in self.tiers)
        if abs(shares - 1) > 1e-6:
            raise ValueError(f"tier shares must sum to 1, got {shares:g}")
        mean_multiplier = sum(t.share * t.elasticity_multiplier for t in self.tiers)
        if abs(mean_multiplier - 1) > 1e-3:
            raise ValueError(
                "share-weighted tier elasticity multipliers must average 1 (so an item's "
                f"true elasticity is its population elasticity), got {mean_multiplier:g}"
            )
        return self

    def scaled(self, factor: float) -> SimulationConfig:
        """The same shop ``factor`` times larger: users, items and sessions scale together."""
        return self.model_copy(
            update={
                "n_users": max(10, round(self.n_users * factor)),
                "catalog": self.catalog.model_copy(
                    update={"n_items": max(10, round(self.catalog.n_items * factor))}
                ),
                "behaviour": self.behaviour.model_copy(
                    update={"sessions_per_day": self.behaviour.sessions_per_day * factor}
                ),
            }
        )
