"""The shop's business rules on what may be recommended (``configs/business_rules.yaml``).

The settings live here, beside the recommender, so that the service, the offline scorer
and experiment definitions (whose variants may override rules) share one model; the
service applies them after ranking (:mod:`serving.rules`).
"""

from __future__ import annotations

from pydantic import Field

from storefront.config import Settings


class BusinessRules(Settings):
    """The shop's rules on what may be recommended."""

    in_stock_only: bool = True
    """Drop items the feature store says are out of stock (unknown stock is kept)."""
    exclude_bought_days: float = Field(default=30.0, ge=0)
    """Drop items the shopper bought within this many days (0: keep them)."""
    max_per_category: int = Field(default=3, ge=1)
    """At most this many items of one category in an answer (then backfilled)."""
    promoted_items: dict[str, float] = Field(default_factory=dict)
    """Item id -> boost added to the item's score, in units of the candidates' score
    range (1: from the last candidate's score to the first's)."""
    promoted_categories: dict[str, float] = Field(default_factory=dict)
    """Category -> boost, as above."""
    promo_flag_boost: float = Field(default=0.0, ge=0)
    """Boost for items on promotion in the price feed (feature ``promo``)."""
