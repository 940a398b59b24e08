"""``/price``: the approved published price of each item, else its feed price.

Prices come from the price ledger (``training.pricing.ledger``): an item's price is the
entry in force at the caller's moment, with its guardrail reasons, approver and the
lawful "was" price (lowest of the last 30 days). Items with no ledger price then answer
their current feed price with reason ``no_published_price`` and the 30-day lowest from
the prices feed. The ledger is re-read when it changes; which entry is in force is
evaluated again whenever the moment asked leaves the span over which it cannot change,
so a price approved for later is served from its ``valid_from`` on, never before.

Reference prices: every answer carries ``lowest_price_30d``; ``was_price`` is set, and
``is_reduced`` true, only when the price is below that lawful reference (the lowest
price of the 30 days before the price took effect), so a storefront never shows a "was"
price that is not one (:func:`reference`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from serving.schemas import ItemPrice
from serving.shop import Shop

log = logging.getLogger(__name__)
Span = tuple[dt.datetime | None, dt.datetime | None]
Quote = Callable[[list[str], dt.datetime], dict[str, set[float]]]
"""``quote(items, at) -> item -> prices the service may say for it at that moment``."""
NO_PUBLISHED_PRICE = "no_published_price"
EXPERIMENT_CURRENT = "experiment_current_price"
"""Reason of a feed price answered to a pricing experiment's current-price arm."""


REDUCTION_TOLERANCE = 0.005
"""A price counts as reduced when it is at least this far (half a cent) below the
reference, so rounding never makes a reduction."""


def reference(price: float, lowest_30d: float | None) -> tuple[float | None, bool]:
    """``(was_price, is_reduced)`` of a price with its lawful 30-day lowest: the lowest
    as "was" price when the price is below it, else ``(None, False)``."""
    if lowest_30d is None or price > lowest_30d - REDUCTION_TOLERANCE:
        return None, False
    return lowest_30d, True


def _covers(span: Span | None, at: dt.datetime) -> bool:
    if span is None:
        return False
    start, end = span
    return (start is None or start <= at) and (end is None or at < end)


class LedgerView:
    """The ledger as read once, answering the entries in force at any moment (computed
    once per span over which they cannot change).

    Args:
        entries: Every ledger entry in write order.
        known: Spans already evaluated, with their entries in force per item.
    """

    def __init__(
        self, entries: pl.DataFrame, known: list[tuple[Span, dict[str, dict[str, Any]]]]
    ) -> None:
        self.entries, self._known = entries, list(known)

    def published(self, at: dt.datetime) -> dict[str, dict[str, Any]]:
        """The entry in force at ``at`` per item."""
        from training.pricing.ledger import in_force, unchanged_between

        for span, published in self._known:
            if _covers(span, at):
                return published
        frame = in_force(self.entries, at)
        published = {row["item_id"]: row for row in frame.iter_rows(named=True)}
        self._known.append((unchanged_between(self.entries, at), published))
        return published


class PriceBook:
    """Current prices of a shop.

    Args:
        data_dir: The shop folder (its price ledger is read).
        shop: Feed prices and the catalogue.
    """

    def __init__(self, data_dir: Path, shop: Shop) -> None:
        self.data_dir, self.shop = Path(data_dir), shop
        self._version: tuple[object, ...] | None = None
        self._entries: pl.DataFrame | None = None
        self._span: tuple[dt.datetime | None, dt.datetime | None] | None = None
        self._published: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def published(self, at: dt.datetime) -> dict[str, dict[str, Any]]:
        """The ledger entry in force at ``at`` per item (the ledger re-read when it
        changes, the entries in force when ``at`` leaves the span they hold for)."""
        from training.pricing.ledger import in_force, ledger_version, read_ledger, unchanged_between

        version = ledger_version(self.data_dir)
        with self._lock:
            if version != self._version or self._entries is None:
                self._entries, self._version, self._span = read_ledger(self.data_dir), version, None
            if not _covers(self._span, at):
                frame = in_force(self._entries, at)
                self._published = {row["item_id"]: row for row in frame.iter_rows(named=True)}
                self._span = unchanged_between(self._entries, at)
            return self._published

    def view(self) -> LedgerView:
        """The ledger read once (re-read only if it changed) for many moments: one
        batch of events checks its prices against it, whatever its stamps."""
        from training.pricing.ledger import ledger_version, read_ledger

        version = ledger_version(self.data_dir)
        with self._lock:
            if version != self._version or self._entries is None:
                self._entries, self._version, self._span = read_ledger(self.data_dir), version, None
            known = [] if self._span is None else [(self._span, self._published)]
            return LedgerView(self._entries, known)

    def quoter(self, experiment_items: Callable[[list[str], dt.datetime], frozenset[str]]) -> Quote:
        """What ``/price`` may say for items at a moment, for a batch of events: the
        ledger's (else the feed's) price and, for an item in a pricing experiment
        (``experiment_items(items, at)``), also its feed price (the current-price arm;
        workers pick experiments up a few seconds apart). The ledger is read once for
        all the moments asked (a broken ledger: feed prices)."""
        try:
            view = self.view()
        except Exception as exc:  # feed prices only, without asking the ledger again
            log.warning("published prices unreadable: %s", exc)
            view = LedgerView(pl.DataFrame(), [((None, None), {})])

        def quote(items: list[str], at: dt.datetime) -> dict[str, set[float]]:
            arms = experiment_items(items, at)
            said: dict[str, set[float]] = {}
            for feed_only in {frozenset(), arms}:
                for p in self.prices(items, at, feed_only=feed_only, view=view)[0]:
                    said.setdefault(p.item_id, set()).add(p.price)
            return said

        return quote

    def prices(
        self,
        item_ids: list[str],
        at: dt.datetime,
        feed_only: frozenset[str] = frozenset(),
        view: LedgerView | None = None,
    ) -> tuple[list[ItemPrice], list[str], list[str]]:
        """Prices of the known items at ``at``, the unknown ids, and degraded reasons.

        Args:
            item_ids: Items to price.
            at: The moment priced (time-zone aware; the service passes its now).
            feed_only: Items that answer their feed price even when a published one
                exists (the control arm of a pricing experiment: current prices).
            view: The ledger as read for a batch (:meth:`view`); default: the book's
                copy, re-read when the ledger changes.
        """
        from training.pricing.ledger import utc

        moment = utc(at, "at")  # a naive time is the caller's bug, not a degraded ledger
        degraded: list[str] = []
        try:
            published = self.published(moment) if view is None else view.published(moment)
        except Exception as exc:  # a broken published file must not stop the feed prices
            log.warning("published prices unreadable: %s", exc)
            published, degraded = {}, ["published_prices_unavailable"]
        answers, unknown = [], []
        for item in item_ids:
            feed = self.shop.prices.get(item)
            row = None if item in feed_only else published.get(item)
            if row is not None:
                lowest = row["was_price"]
                if lowest is None and feed is not None:
                    lowest = feed.lowest_30d  # a rollback to the feed price keeps its lowest
                was, reduced = reference(row["price"], lowest)
                answers.append(
                    ItemPrice(
                        item_id=item,
                        price=row["price"],
                        was_price=was,
                        is_reduced=reduced,
                        lowest_price_30d=lowest,
                        reasons=list(row["reasons"] or []),
                        approved_by=row["by"],
                        approved_at=row["at"],
                        proposal_id=row.get("proposal_id"),
                        source="published",
                    )
                )
            elif feed is not None:
                was, reduced = reference(feed.price, feed.lowest_30d)
                answers.append(
                    ItemPrice(
                        item_id=item,
                        price=feed.price,
                        was_price=was,
                        is_reduced=reduced,
                        lowest_price_30d=feed.lowest_30d,
                        reasons=[EXPERIMENT_CURRENT if item in feed_only else NO_PUBLISHED_PRICE],
                        source="feed",
                    )
                )
            else:
                unknown.append(item)
        return answers, unknown, degraded
