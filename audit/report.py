"""The audit report of a date range: the four checks over one shop's records (what
``storefront audit`` prints and the ``/audit`` page shows)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from audit.exposure import ExposureFairness, exposure_fairness
from audit.parity import Parity, check_parity
from audit.privacy import Place, search_logs, search_tables
from audit.quotes import QUOTE_SCHEMA, read_quotes
from audit.reference_prices import ReferencePrices, check_reference_prices
from audit.sources import LIST_SCHEMA, feed_ids, logged_ids, served_lists
from storefront.feeds import read_feeds
from storefront.feeds.schemas import INTERACTION_TYPES
from storefront.workspace import Workspace


@dataclass(frozen=True)
class AuditReport:
    """The audit of ``since`` – ``until`` (``None``: unbounded), one section per check.

    Attributes:
        since: First day included.
        until: Last day included.
        parity: Price parity of the logged quotes.
        reference: Reference prices of the logged quotes.
        exposure: Exposure fairness of the logged recommendation lists.
        privacy: Raw ids found per place searched.
        raw_ids: How many raw ids were searched for.
        notes: What could not be read, and why.
    """

    since: dt.date | None
    until: dt.date | None
    parity: Parity
    reference: ReferencePrices
    exposure: ExposureFairness
    privacy: list[Place]
    raw_ids: int
    notes: list[str] = field(default_factory=list)

    @property
    def leaks(self) -> int:
        """Raw ids found, all places together."""
        return sum(p.leaks for p in self.privacy)

    @property
    def ok(self) -> bool:
        """No divergence, no unlawful reference price, no leak."""
        return self.parity.ok and self.reference.ok and self.leaks == 0

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (ids of items only; no shopper id)."""

        def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()}
                for r in frame.iter_rows(named=True)
            ]

        e = self.exposure
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "ok": self.ok,
            "parity": {"quotes": self.parity.quotes, "items": self.parity.items,
                       "moments": self.parity.moments, "shared_moments": self.parity.shared,
                       "divergences": rows(self.parity.divergences)},
            "reference_prices": {"quotes": self.reference.quotes,
                                 "reduced": self.reference.reduced,
                                 "shown_was_price": self.reference.shown_was_price,
                                 "violations": rows(self.reference.violations)},
            "exposure": {"lists": e.lists, "impressions": e.impressions,
                         "catalogue": e.catalogue, "coverage": e.coverage, "gini": e.gini,
                         "arp": e.arp, "profile_popularity": e.profile_popularity,
                         "popularity_lift": e.popularity_lift,
                         "by_category": rows(e.by_category), "by_brand": rows(e.by_brand),
                         "new_items": rows(e.new_items), "daily": rows(e.daily)},
            "privacy": {"raw_ids": self.raw_ids, "leaks": self.leaks,
                        "places": [dataclasses.asdict(p) for p in self.privacy]},
            "notes": self.notes,
        }  # fmt: skip


def _bounds(since: dt.date | None, until: dt.date | None) -> tuple[Any, Any]:
    start = None if since is None else dt.datetime.combine(since, dt.time(), dt.UTC)
    end = None if until is None else dt.datetime.combine(until, dt.time(), dt.UTC)
    return start, None if end is None else end + dt.timedelta(days=1)


def price_history(folder: Path, prices: pl.DataFrame | None) -> pl.DataFrame:
    """Every price entry of the shop: the prices feed and the published ledger."""
    from training.pricing.ledger import read_ledger

    frames = [pl.DataFrame(schema={"item_id": pl.String(), "valid_from": pl.Datetime("us", "UTC"),
                                   "price": pl.Float64()})]  # fmt: skip
    if prices is not None:
        frames.append(prices.select("item_id", "valid_from", "price"))
    frames.append(read_ledger(folder).select("item_id", "valid_from", "price"))
    return pl.concat([f.cast(frames[0].schema) for f in frames])  # type: ignore[arg-type]


def service_logs(ws: Workspace) -> list[Path]:
    """The service's log files (``service.log`` and its rotations, ``service.out``)."""
    if not ws.serving.is_dir():
        return []
    return sorted(p for p in ws.serving.glob("service*") if p.is_file())


def _period(frame: pl.DataFrame, column: str, start: Any, end: Any) -> pl.DataFrame:
    if start is not None:
        frame = frame.filter(pl.col(column) >= start)
    if end is not None:
        frame = frame.filter(pl.col(column) < end)
    return frame


def build_report(
    folder: Path,
    engine: sa.Engine | None,
    events_url: str | None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> AuditReport:
    """Audit the service's records of ``since`` – ``until`` (UTC days, both included).

    Args:
        folder: The shop folder.
        engine: The experiment store's database (quotes, lists; ``None``: none yet).
        events_url: The service's event log (default: the shop's ``events.db``).
        since: First day, default: the first record.
        until: Last day, default: the last record.
    """
    ws = Workspace(folder)
    start, end = _bounds(since, until)
    feeds = read_feeds(folder, required=("catalog",))
    events = feeds.events if feeds.events is not None else pl.DataFrame(
        schema={"item_id": pl.String(), "event_type": pl.String(), "quantity": pl.Int64(),
                "timestamp": pl.Datetime("us", "UTC"), "user_id": pl.String(),
                "session_id": pl.String()})  # fmt: skip
    notes = [] if engine is not None else ["no experiment store yet: no quotes, no lists"]
    quotes = (
        read_quotes(engine, start, end) if engine is not None else pl.DataFrame(schema=QUOTE_SCHEMA)
    )
    lists = (
        served_lists(engine, start, end) if engine is not None else pl.DataFrame(schema=LIST_SCHEMA)
    )
    if quotes.is_empty():
        notes.append("no price quotes logged in the period (run the service and its traffic)")
    popularity = (
        events.filter(pl.col("event_type").is_in(INTERACTION_TYPES))
        .group_by("item_id")
        .agg(pl.len().alias("popularity"))
    )
    purchases = _period(events.filter(pl.col("event_type") == "purchase"), "timestamp", start, end)
    url = events_url or f"sqlite:///{ws.event_log}"
    raw = feed_ids(feeds.events) | logged_ids(url)
    places = search_logs(service_logs(ws), raw)
    if engine is not None:
        places += search_tables(engine, raw, "experiments")
    return AuditReport(
        since=since,
        until=until,
        parity=check_parity(quotes),
        reference=check_reference_prices(quotes, price_history(folder, feeds.prices)),
        exposure=exposure_fairness(lists, feeds.catalog, purchases, popularity),  # type: ignore[arg-type]
        privacy=places,
        raw_ids=len(raw),
        notes=notes,
    )
