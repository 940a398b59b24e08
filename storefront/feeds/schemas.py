"""Declarative schemas of the feeds (see DESIGN.md "Feeds: the data contract").

One :class:`FeedSchema` per table; the validator and every loader read these objects, so
the contract is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

EVENT_TYPES: tuple[str, ...] = ("view", "add_to_cart", "purchase", "return")
"""What a shopper can do; a ``return`` gives back units of an earlier purchase."""
INTERACTION_TYPES: tuple[str, ...] = ("view", "add_to_cart", "purchase")
"""The event types that are shopping (interest, demand, popularity); a return is not one:
code that counts interactions keeps only these."""
MAX_RETURN_REASON = 200
"""Longest ``return_reason`` (characters)."""


class Kind(StrEnum):
    """Logical column type; each maps to one canonical Polars dtype."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATETIME = "datetime (UTC)"
    DATE = "date"

    @property
    def dtype(self) -> pl.DataType:
        """The canonical Polars dtype a validated frame holds for this kind."""
        return {
            Kind.STR: pl.String(),
            Kind.INT: pl.Int64(),
            Kind.FLOAT: pl.Float64(),
            Kind.BOOL: pl.Boolean(),
            Kind.DATETIME: pl.Datetime("us", "UTC"),
            Kind.DATE: pl.Date(),
        }[self]


@dataclass(frozen=True)
class Column:
    """One column of a feed and the rules its values obey.

    Attributes:
        name: Column name.
        kind: Logical type.
        nullable: Whether nulls are allowed.
        required: Whether the column must be present (optional columns are checked
            when present).
        minimum: Lower bound of the values, if any.
        strict_minimum: ``True`` when the bound is exclusive (``> minimum``).
        allowed: The only values allowed, for categorical columns.
        description: What the column holds, in words (carried into the derived forms,
            e.g. the OpenAPI document of ``POST /events``).
        max_length: Longest value of a string column (characters), if bounded.
    """

    name: str
    kind: Kind
    nullable: bool = False
    required: bool = True
    minimum: float | None = None
    strict_minimum: bool = False
    allowed: tuple[str, ...] | None = None
    description: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class FeedSchema:
    """A feed table: its columns, its unique key and whether items must be in the catalog."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references_catalog: bool = True

    @property
    def file_name(self) -> str:
        """File name of this feed inside a feed directory."""
        return f"{self.name}.parquet"

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of all columns, required and optional, in canonical order."""
        return tuple(c.name for c in self.columns)


def _positive_price(name: str, nullable: bool = False, description: str | None = None) -> Column:
    return Column(
        name,
        Kind.FLOAT,
        nullable=nullable,
        minimum=0.0,
        strict_minimum=True,
        description=description,
    )


EVENTS = FeedSchema(
    name="events",
    columns=(
        Column(
            "event_id",
            Kind.STR,
            description="Unique id of the event; a replayed event_id is stored once.",
        ),
        Column("user_id", Kind.STR, description="The shopper."),
        Column("session_id", Kind.STR, description="The shopper's visit."),
        Column("item_id", Kind.STR, description="The item (in the catalog)."),
        Column(
            "event_type",
            Kind.STR,
            allowed=EVENT_TYPES,
            description=(
                "What the shopper did: view, add_to_cart, purchase, or return (units of an "
                "earlier purchase given back)."
            ),
        ),
        Column(
            "timestamp",
            Kind.DATETIME,
            description="When it happened; timezone-aware (naive timestamps are refused).",
        ),
        Column(
            "quantity",
            Kind.INT,
            minimum=1,
            description="Units viewed, carted or bought; for a return, the units returned.",
        ),
        _positive_price(
            "unit_price",
            description=(
                "Price of one unit when it happened; for a return, the amount refunded per "
                "unit returned."
            ),
        ),
        Column(
            "request_id",
            Kind.STR,
            nullable=True,
            required=False,
            description="The recommendation answer that led to the event, if any (attribution).",
        ),
        Column(
            "order_id",
            Kind.STR,
            nullable=True,
            required=False,
            description=(
                "The order (purchase) the event belongs to, where known: on a return, the "
                "order whose units come back; purchases may carry it too."
            ),
        ),
        Column(
            "return_reason",
            Kind.STR,
            nullable=True,
            required=False,
            max_length=MAX_RETURN_REASON,
            description=(
                f"Why the units were returned (free text, at most {MAX_RETURN_REASON} "
                "characters), where known; for returns."
            ),
        ),
    ),
    key=("event_id",),
)

CATALOG = FeedSchema(
    name="catalog",
    columns=(
        Column("item_id", Kind.STR),
        Column("category", Kind.STR),
        Column("brand", Kind.STR, nullable=True, required=False),
        _positive_price("base_price"),
        Column("unit_cost", Kind.FLOAT, nullable=True, required=False, minimum=0.0),
        Column("created_at", Kind.DATETIME),
        Column("name", Kind.STR, nullable=True, required=False),
    ),
    key=("item_id",),
    references_catalog=False,
)

INVENTORY = FeedSchema(
    name="inventory",
    columns=(
        Column("item_id", Kind.STR),
        Column("timestamp", Kind.DATETIME),
        Column("on_hand", Kind.INT, minimum=0),
        Column("on_order", Kind.INT, minimum=0),
    ),
    key=("item_id", "timestamp"),
)

PRICES = FeedSchema(
    name="prices",
    columns=(
        Column("item_id", Kind.STR),
        Column("valid_from", Kind.DATETIME),
        _positive_price("price"),
        Column("promo", Kind.BOOL),
        # True where the price was set by a randomised price test (exogenous to demand).
        Column("price_test", Kind.BOOL, nullable=True, required=False),
    ),
    key=("item_id", "valid_from"),
)

SALES = FeedSchema(
    name="sales",
    columns=(
        Column("item_id", Kind.STR),
        Column("location_id", Kind.STR),
        Column("period_start", Kind.DATE),
        Column("units", Kind.FLOAT, minimum=0.0),
        _positive_price("price"),
        _positive_price("base_price", nullable=True),
        Column("promo", Kind.BOOL),
        # Optional promotion and calendar flags, present where the source has them.
        Column("feature", Kind.BOOL, nullable=True, required=False),
        Column("display", Kind.BOOL, nullable=True, required=False),
        Column("tpr_only", Kind.BOOL, nullable=True, required=False),
        Column("event_name", Kind.STR, nullable=True, required=False),
        Column("snap", Kind.BOOL, nullable=True, required=False),
        Column("stockout", Kind.BOOL, nullable=True, required=False),
        Column("price_test", Kind.BOOL, nullable=True, required=False),
    ),
    key=("item_id", "location_id", "period_start"),
)

SCHEMAS: dict[str, FeedSchema] = {s.name: s for s in (EVENTS, CATALOG, INVENTORY, PRICES, SALES)}
FEED_NAMES: tuple[str, ...] = tuple(SCHEMAS)
