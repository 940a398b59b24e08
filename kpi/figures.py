"""The headline figures of a set of events, for the whole set or per group.

Events are first :func:`prepare`-d: joined with the catalog's ``category`` and
``unit_cost``, and given their UTC ``day``, ``revenue`` (quantity × unit price: paid for
a purchase, refunded for a return) and ``order_key``. The figures (:func:`summarise`):

- **GMV** = Σ quantity × unit_price over purchases (gross: before returns).
- **orders** = distinct orders among purchases; an order is the purchase's ``order_id``
  where the event has one, else its session (one checkout per visit), per shopper.
- **buyers** = distinct shoppers with a purchase.
- **sessions** = distinct sessions with a view, add-to-cart or purchase (a visit that
  only returned something is no shopping).
- **conversion** = sessions with a purchase / sessions.
- **average order value** = GMV / orders.
- **repurchase rate** = buyers with two or more orders in the period / buyers.
- **return rate** = units returned / units bought (both in the period: a return counts
  in the period it happens, like the feature store's return rates).
- **refunds** = Σ quantity × unit_price over returns; **net revenue** = GMV − refunds.
- **gross profit** = Σ quantity × (unit_price − unit_cost) over purchases − Σ quantity ×
  (refund − unit_cost) over returns (the returned unit is back in stock, its refund is
  lost), over items whose unit cost is known.
- **gross margin** = gross profit / net revenue of the items whose cost is known;
  **cost coverage** = the share of GMV from items with a known cost (the margin speaks
  for that share only).

A ratio whose denominator is zero is null (shown as "–"), never 0 or infinity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from storefront.feeds.schemas import INTERACTION_TYPES

UNCATEGORISED = "(not in catalog)"
"""Category of an event whose item the catalog lacks."""


@dataclass(frozen=True)
class Figure:
    """One headline figure: its key, label, kind of value and good direction."""

    key: str
    label: str
    kind: str
    """``money``, ``count`` or ``percent`` (a share in [0, 1])."""
    higher_is_better: bool = True
    short: str = ""
    """A column heading (the label when empty)."""

    @property
    def heading(self) -> str:
        return self.short or self.label


FIGURES: tuple[Figure, ...] = (
    Figure("gmv", "GMV", "money"),
    Figure("orders", "Orders", "count"),
    Figure("conversion", "Conversion (sessions with a purchase)", "percent", short="Conversion"),
    Figure("aov", "Average order value", "money", short="AOV"),
    Figure("repurchase_rate", "Repurchase rate", "percent", short="Repurchase"),
    Figure("return_rate", "Return rate (units)", "percent", False, "Returns"),
    Figure("gross_margin", "Gross margin", "percent", short="Margin"),
)
"""The headline figures, in the order the dashboard and the CLI show them."""
DETAIL: tuple[Figure, ...] = (
    Figure("buyers", "Buyers", "count"),
    Figure("sessions", "Sessions", "count"),
    Figure("converted_sessions", "Sessions with a purchase", "count", short="Bought"),
    Figure("units_sold", "Units sold", "count"),
    Figure("units_returned", "Units returned", "count", higher_is_better=False),
    Figure("refunds", "Refunds", "money", higher_is_better=False),
    Figure("net_revenue", "Net revenue", "money"),
    Figure("gross_profit", "Gross profit", "money"),
    Figure("cost_coverage", "Cost known for (share of GMV)", "percent", short="Cost known"),
)
"""The figures behind the headline ones."""
ALL_FIGURES: tuple[Figure, ...] = FIGURES + DETAIL
BY_KEY: dict[str, Figure] = {f.key: f for f in ALL_FIGURES}
COUNTS = (
    "gmv",
    "orders",
    "buyers",
    "sessions",
    "converted_sessions",
    "units_sold",
    "units_returned",
    "refunds",
    "net_revenue",
)
"""Figures that are sums or counts: 0 (not null) for a group without events (gross
profit is not one: it is unknown, not 0, where no item's cost is known)."""
INTEGERS = ("orders", "buyers", "sessions", "converted_sessions", "units_sold", "units_returned")


def prepare(events: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """Events with ``category``, ``unit_cost``, ``day``, ``revenue`` and ``order_key``.

    Args:
        events: Events with the contract's columns (``order_id`` may be null).
        catalog: The catalog, ``unit_cost`` included (null where unknown).
    """
    items = catalog.select("item_id", "category", pl.col("unit_cost").cast(pl.Float64))
    return events.join(items, on="item_id", how="left").with_columns(
        pl.col("category").fill_null(UNCATEGORISED),
        day=pl.col("timestamp").dt.convert_time_zone("UTC").dt.date(),
        revenue=pl.col("quantity") * pl.col("unit_price"),
        order_key=pl.concat_str("user_id", pl.coalesce("order_id", "session_id"), separator="\x1f"),
    )


def _sums() -> list[pl.Expr]:
    kind, quantity, revenue = pl.col("event_type"), pl.col("quantity"), pl.col("revenue")
    bought, returned = kind == "purchase", kind == "return"
    costed = pl.col("unit_cost").is_not_null()
    profit = quantity * (pl.col("unit_price") - pl.col("unit_cost"))
    return [
        revenue.filter(bought).sum().alias("gmv"),
        pl.col("order_key").filter(bought).n_unique().alias("orders"),
        pl.col("user_id").filter(bought).n_unique().alias("buyers"),
        pl.col("session_id").filter(kind.is_in(INTERACTION_TYPES)).n_unique().alias("sessions"),
        pl.col("session_id").filter(bought).n_unique().alias("converted_sessions"),
        quantity.filter(bought).sum().alias("units_sold"),
        quantity.filter(returned).sum().alias("units_returned"),
        revenue.filter(returned).sum().alias("refunds"),
        (profit.filter(bought & costed).sum() - profit.filter(returned & costed).sum()).alias(
            "gross_profit"
        ),
        (revenue.filter(bought & costed).sum() - revenue.filter(returned & costed).sum()).alias(
            "_costed_net"
        ),
        revenue.filter(bought & costed).sum().alias("_costed_gmv"),
        (costed & (bought | returned)).sum().alias("_costed_events"),
    ]


def ratio(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as a float, null where the denominator is not > 0."""
    top = pl.col(numerator) if isinstance(numerator, str) else numerator
    bottom = pl.col(denominator) if isinstance(denominator, str) else denominator
    return pl.when(bottom > 0).then(top.cast(pl.Float64) / bottom).otherwise(None)


def _ratios() -> list[pl.Expr]:
    return [
        ratio("converted_sessions", "sessions").alias("conversion"),
        ratio("gmv", "orders").alias("aov"),
        ratio("repeat_buyers", "buyers").alias("repurchase_rate"),
        ratio("units_returned", "units_sold").alias("return_rate"),
        (pl.col("gmv") - pl.col("refunds")).alias("net_revenue"),
        ratio("gross_profit", "_costed_net").alias("gross_margin"),
        pl.when(pl.col("_costed_events") > 0).then("gross_profit").alias("gross_profit"),
        ratio("_costed_gmv", "gmv").alias("cost_coverage"),
    ]


def summarise(events: pl.DataFrame, keys: Sequence[str] = ()) -> pl.DataFrame:
    """The figures of :data:`ALL_FIGURES` for prepared events, one row per group of
    ``keys`` (one row in all when there are none); see the module for the formulas."""
    keys = list(keys)
    frame = events if keys else events.with_columns(_all=pl.lit(0))
    by = keys or ["_all"]
    main = frame.group_by(by).agg(_sums())
    repeat = (
        frame.filter(pl.col("event_type") == "purchase")
        .group_by([*by, "user_id"])
        .agg(orders=pl.col("order_key").n_unique())
        .group_by(by)
        .agg(repeat_buyers=(pl.col("orders") >= 2).sum())
    )
    out = main.join(repeat, on=by, how="left").with_columns(pl.col("repeat_buyers").fill_null(0))
    out = out.with_columns(_ratios()).select(*by, *(f.key for f in ALL_FIGURES))
    if not keys:
        out = out.drop("_all")
        if out.height == 0:  # no events at all: zero counts, null ratios
            out = empty_row()
    return out.with_columns(
        *(pl.col(c).cast(pl.Float64) for c in ("gmv", "refunds", "net_revenue", "gross_profit")),
        *(pl.col(c).cast(pl.Int64) for c in INTEGERS),
    )


def empty_row() -> pl.DataFrame:
    """The figures of no events: counts 0, ratios null."""
    return pl.DataFrame(
        {f.key: [0 if f.key in COUNTS else None] for f in ALL_FIGURES},
        schema={f.key: pl.Int64 if f.key in INTEGERS else pl.Float64 for f in ALL_FIGURES},
    )


def headline(current: pl.DataFrame, previous: pl.DataFrame) -> dict[str, dict[str, object]]:
    """Each figure of two one-row summaries: ``current``, ``previous`` and ``change``.

    The change of a share (``percent`` figures) is the difference in points (0.021 −
    0.018 = +0.003, shown as +0.3 pt); of any other figure, the relative change
    (current / previous − 1, null when the previous is 0 or unknown).
    """
    now, before = current.row(0, named=True), previous.row(0, named=True)
    out: dict[str, dict[str, object]] = {}
    for fig in ALL_FIGURES:
        a, b = now[fig.key], before[fig.key]
        if fig.kind == "percent":
            change = a - b if a is not None and b is not None else None
        else:
            change = a / b - 1 if a is not None and b not in (None, 0) else None
        out[fig.key] = {"current": a, "previous": b, "change": change}
    return out


def with_previous(
    current: pl.DataFrame, previous: pl.DataFrame, keys: Sequence[str]
) -> pl.DataFrame:
    """Per group of ``keys``: each figure, and beside it ``<figure>_previous`` (groups
    absent from one period count zero there)."""
    zero = [pl.col(c).fill_null(0) for c in COUNTS]
    before = previous.rename({f.key: f"{f.key}_previous" for f in ALL_FIGURES})
    joined = current.join(before, on=list(keys), how="full", coalesce=True)
    return joined.with_columns(*zero, *(pl.col(f"{c}_previous").fill_null(0) for c in COUNTS))
