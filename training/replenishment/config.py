"""Settings of replenishment alerts (``configs/inventory.yaml``)."""

from __future__ import annotations

from pydantic import Field

from storefront.config import Settings


class InventoryConfig(Settings):
    """Lead time, review period, service level and what counts as overstock."""

    lead_time_days: int = Field(default=7, ge=1)
    """Days from placing an order to stock on the shelf."""
    review_days: int = Field(default=7, ge=1)
    """Days until stock is next reviewed: an order covers lead time plus this."""
    service_level: float = Field(default=0.95, gt=0.5, lt=1)
    """Chance of not running out during the lead time (sets the safety stock)."""
    overstock_cover_days: float = Field(default=60.0, gt=0)
    """More days of cover than this is overstock (candidates for a markdown)."""
