"""All the KPIs of one date range as one report: what the dashboard draws and
``storefront kpi`` prints.

:func:`build_report` takes the shop's frames (:func:`kpi.sources.load_shop`), the range
and the settings, and returns a :class:`KpiReport`; :meth:`KpiReport.as_dict` is its
JSON form (the CLI's ``--json``, the dashboard's ``Accept: application/json``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from features.config import FeatureConfig
from kpi import breakdowns, marketing, products, shoppers
from kpi.figures import headline, prepare, summarise
from kpi.periods import By, Period, check_by, resolve
from kpi.series import series
from kpi.sources import Freshness, ShopData
from storefront.config import load_config

DEFAULT_WIN_BACK = ("at_risk", "dormant")
"""The service's default ``profile.win_back_stages`` (``configs/serving.yaml``)."""


@dataclass(frozen=True)
class KpiSettings:
    """What the figures depend on besides the data.

    Attributes:
        features: The feature store's settings (lifecycle thresholds, RFM segment rules,
            the item cover window), ``configs/features.yaml``.
        overstock_cover_days: More days of cover is overstock (``configs/inventory.yaml``).
        win_back_stages: Lifecycle stages on the win-back list (the service's
            ``profile.win_back_stages``).
        currency: Shown before money amounts; empty: plain amounts (the shop's
            configuration names no currency).
        top_n: Items in the top and bottom lists.
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    overstock_cover_days: float = 60.0
    win_back_stages: tuple[str, ...] = DEFAULT_WIN_BACK
    currency: str = ""
    top_n: int = 10

    @classmethod
    def load(
        cls,
        features_config: str | Path | None = None,
        inventory_config: str | Path | None = None,
        win_back_stages: Sequence[str] = DEFAULT_WIN_BACK,
    ) -> KpiSettings:
        """The settings from the shop's YAML files (``configs/features.yaml`` and
        ``configs/inventory.yaml`` unless others are given) and the service's win-back
        stages.

        Raises:
            storefront.config.ConfigError: A file is missing or invalid.
        """
        from training.replenishment.config import InventoryConfig

        inventory = load_config(InventoryConfig, inventory_config, name="inventory")
        return cls(
            features=load_config(FeatureConfig, features_config, name="features"),
            overstock_cover_days=inventory.overstock_cover_days,
            win_back_stages=tuple(win_back_stages),
        )


@dataclass(frozen=True)
class KpiReport:
    """The KPIs of a period beside the previous one (each table's columns: the figures
    of :mod:`kpi.figures`, and ``<figure>_previous``)."""

    period: Period
    previous: Period
    by: By
    headline: dict[str, dict[str, Any]]
    series: pl.DataFrame
    by_category: pl.DataFrame
    by_segment: pl.DataFrame
    funnel: pl.DataFrame
    lifecycle: pl.DataFrame
    win_back: dict[str, int]
    new_vs_returning: pl.DataFrame
    items: pl.DataFrame
    top_items: pl.DataFrame
    bottom_items: pl.DataFrame
    stockouts: pl.DataFrame
    overstock: pl.DataFrame
    stock: dict[str, Any]
    promotion: pl.DataFrame
    experiments: list[dict[str, Any]]
    freshness: Freshness
    computed_at: dt.datetime
    currency: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (dates ISO, NaN as null)."""
        return _clean(
            {
                "period": self.period.as_dict(),
                "previous": self.previous.as_dict(),
                "by": self.by,
                "currency": self.currency or None,
                "computed_at": self.computed_at.isoformat(),
                "freshness": self.freshness.as_dict(),
                "headline": self.headline,
                "series": self.series.to_dicts(),
                "by_category": self.by_category.to_dicts(),
                "by_segment": self.by_segment.to_dicts(),
                "shoppers": {
                    "funnel": self.funnel.to_dicts(),
                    "lifecycle": self.lifecycle.to_dicts(),
                    "win_back": self.win_back,
                    "new_vs_returning": self.new_vs_returning.to_dicts(),
                },
                "products": {
                    "top": self.top_items.to_dicts(),
                    "bottom": self.bottom_items.to_dicts(),
                    "stockouts": self.stockouts.to_dicts(),
                    "overstock": self.overstock.to_dicts(),
                    "stock": self.stock,
                    "items": self.items.height,
                },
                "marketing": {
                    "promotion_response": self.promotion.to_dicts(),
                    "experiments": self.experiments,
                },
                "notes": self.notes,
            }
        )


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def last_day(data: ShopData) -> dt.date:
    """The last day with an event (today's date when there is none)."""
    moment = data.freshness.last_event
    if moment is None and data.events.height:
        moment = data.events["timestamp"].max()  # type: ignore[assignment]
    return moment.astimezone(dt.UTC).date() if moment else dt.datetime.now(dt.UTC).date()


def _notes(data: ShopData, events: pl.DataFrame, period: Period) -> list[str]:
    notes = []
    mine = events.filter(period.contains(pl.col("timestamp")))
    kinds = set(mine["event_type"].unique().to_list())
    if mine.is_empty():
        notes.append(f"no events between {period.label()}")
    elif "view" not in kinds:
        notes.append("no views in the events: conversion counts only sessions that bought")
    if data.catalog["unit_cost"].is_null().all():
        notes.append("the catalog has no unit costs: no gross margin")
    if data.inventory is None:
        notes.append("no inventory feed: stock is treated as unlimited (no stock-outs)")
    if data.prices is None:
        notes.append("no prices feed: no promotion response")
    return notes


def build_report(
    data: ShopData,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: str = "day",
    settings: KpiSettings | None = None,
    experiments: Callable[[], list[dict[str, Any]]] | None = None,
    now: dt.datetime | None = None,
) -> KpiReport:
    """The KPIs of ``since`` – ``until`` (default: the last 28 days of data) beside the
    previous period of the same length.

    Args:
        data: The shop's frames.
        since: First day (UTC), included.
        until: Last day (UTC), included.
        by: ``day`` or ``week`` buckets for the series.
        settings: Thresholds and display settings.
        experiments: Returns the running experiments with their verdicts
            (:func:`kpi.marketing.running_experiments`); ``None``: none.
        now: When the report is made (default: now).

    Raises:
        ValueError: ``by`` is not ``day`` / ``week``, or ``until`` is before ``since``.
    """
    settings = settings or KpiSettings()
    step = check_by(by)
    period = resolve(since, until, last_day(data))
    previous = period.previous()
    history = data.events.filter(pl.col("timestamp") < period.end)
    events = prepare(history, data.catalog)
    both = events.filter(pl.col("timestamp") >= previous.start)

    days = [
        previous.since - dt.timedelta(days=1),
        period.since - dt.timedelta(days=1),
        period.until,
    ]
    snaps = shoppers.snapshots(history, data.catalog, days, settings.features.user)
    entering = {
        p.since: shoppers.segments_on(snaps, p.since - dt.timedelta(days=1))
        for p in (period, previous)
    }
    stages = shoppers.lifecycle(snaps, period, settings.win_back_stages)

    stock = products.stock_days(
        history, data.catalog, data.prices, data.inventory, period, settings.features.item
    )
    items = products.item_table(both, data.catalog, stock, period, settings.overstock_cover_days)
    tiers_from = snaps.filter(pl.col("day") == period.until)
    return KpiReport(
        period=period,
        previous=previous,
        by=step,
        headline=headline(
            summarise(both.filter(period.contains(pl.col("timestamp")))),
            summarise(both.filter(previous.contains(pl.col("timestamp")))),
        ),
        series=series(both, period, step),
        by_category=breakdowns.by_category(both, period),
        by_segment=breakdowns.by_segment(both, period, entering),
        funnel=shoppers.funnel(both, period),
        lifecycle=stages,
        win_back=shoppers.win_back(stages),
        new_vs_returning=shoppers.new_vs_returning(events, period),
        items=items,
        top_items=products.top_items(items, settings.top_n),
        bottom_items=products.bottom_items(items, settings.top_n),
        stockouts=products.stockouts(items),
        overstock=products.overstocked(items),
        stock=products.stock_summary(items, stock)
        | {"overstock_cover_days": settings.overstock_cover_days},
        promotion=marketing.promotion_by_tier(history, data.prices, tiers_from, period),
        experiments=experiments() if experiments else [],
        freshness=data.freshness,
        computed_at=now or dt.datetime.now(dt.UTC),
        currency=settings.currency,
        notes=_notes(data, events, period),
    )
