"""``/price``: the approved published price of each item, else its feed price.

Published prices (``training.pricing.publish.current_prices``) carry their guardrail
reasons, approver and the lawful "was" price (lowest of the last 30 days). Items with
nothing published answer their current feed price with reason ``no_published_price``
and the 30-day lowest from the prices feed. The published table is re-read when its
file changes.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import polars as pl

from serving.schemas import ItemPrice
from serving.shop import Shop

log = logging.getLogger(__name__)
NO_PUBLISHED_PRICE = "no_published_price"
EXPERIMENT_CURRENT = "experiment_current_price"
"""Reason of a feed price answered to a pricing experiment's current-price arm."""


class PriceBook:
    """Current prices of a shop.

    Args:
        data_dir: The shop's feed directory (published prices live under it).
        shop: Feed prices and the catalogue.
    """

    def __init__(self, data_dir: Path, shop: Shop) -> None:
        self.data_dir, self.shop = Path(data_dir), shop
        self._stamp: float | None = None
        self._published: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _file(self) -> Path:
        from training.pricing.publish import PUBLISHED_FILE, pricing_dir

        return pricing_dir(self.data_dir) / PUBLISHED_FILE

    def published(self) -> dict[str, dict[str, Any]]:
        """Latest published row per item (re-read when the file changes)."""
        from training.pricing.publish import current_prices

        path = self._file()
        stamp = path.stat().st_mtime if path.exists() else None
        with self._lock:
            if stamp != self._stamp:
                frame: pl.DataFrame = current_prices(self.data_dir)
                self._published = {row["item_id"]: row for row in frame.iter_rows(named=True)}
                self._stamp = stamp
            return self._published

    def prices(
        self, item_ids: list[str], feed_only: frozenset[str] = frozenset()
    ) -> tuple[list[ItemPrice], list[str], list[str]]:
        """Prices of the known items, the unknown ids, and degraded reasons.

        Args:
            item_ids: Items to price.
            feed_only: Items that answer their feed price even when a published one
                exists (the control arm of a pricing experiment: current prices).
        """
        degraded: list[str] = []
        try:
            published = self.published()
        except Exception as exc:  # a broken published file must not stop the feed prices
            log.warning("published prices unreadable: %s", exc)
            published, degraded = {}, ["published_prices_unavailable"]
        answers, unknown = [], []
        for item in item_ids:
            feed = self.shop.prices.get(item)
            row = None if item in feed_only else published.get(item)
            if row is not None:
                answers.append(
                    ItemPrice(
                        item_id=item,
                        price=row["price"],
                        was_price=row.get("was_price"),
                        lowest_price_30d=row.get("was_price"),
                        reasons=list(row.get("reasons") or []),
                        approved_by=row.get("approved_by"),
                        approved_at=row.get("approved_at"),
                        proposal_id=row.get("proposal_id"),
                        source="published",
                    )
                )
            elif feed is not None:
                answers.append(
                    ItemPrice(
                        item_id=item,
                        price=feed.price,
                        was_price=feed.lowest_30d,
                        lowest_price_30d=feed.lowest_30d,
                        reasons=[EXPERIMENT_CURRENT if item in feed_only else NO_PUBLISHED_PRICE],
                        source="feed",
                    )
                )
            else:
                unknown.append(item)
        return answers, unknown, degraded
