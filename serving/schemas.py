"""Typed request and response bodies of every endpoint (they make the OpenAPI document).

The limits are part of the API contract (k <= 100, <= 50 cart items, <= 500 events,
<= 100 items per price or forecast request); a request breaking one is refused with 422
naming the field, a body over ``limits.max_body_bytes`` with 413. Ids are bounded strings
without control characters; numbers of an event must be finite; unknown fields are
refused (usually a typo). The configurable bounds of an event (quantity, unit price,
timestamp window: ``events.*`` in ``configs/serving.yaml``) are checked by
:func:`serving.events.validate_events` before anything is built from the batch.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from storefront.feeds.forms import pydantic_model
from storefront.feeds.schemas import SCHEMAS

MAX_K = 100
MAX_CART = 50
MAX_EVENTS = 500
MAX_ITEMS = 100
MAX_HORIZON = 28

ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""No control characters (NUL, ``\\x00``-``\\x1f``, DEL) in an id."""
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, strip_whitespace=True, pattern=ID_PATTERN),
]
PageType = Literal["home", "product", "category", "cart", "search", "checkout", "other"]
Include = Literal["price", "stock"]
"""What ``include`` may add to each recommended item: its price in force, its stock."""
ShortReason = Literal["not_enough_candidates", "unknown_category"]
"""Why an answer has fewer than ``k`` items."""


class Documented(BaseModel):
    """A body whose fields' docstrings are their descriptions in the OpenAPI document."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class Strict(Documented):
    """Refuses unknown fields."""

    model_config = ConfigDict(extra="forbid")


class StrictFinite(Strict):
    """Refuses unknown fields and non-finite numbers (NaN, Infinity, ``1e999``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Context(Strict):
    """Where the shopper is: the page, their cart, a category filter."""

    page_type: PageType = "home"
    cart_items: list[Id] = Field(default_factory=list, max_length=MAX_CART)
    category: Id | None = None
    """Only items of this category."""
    item_id: Id | None = None
    """The product on a product page."""
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_ITEMS)
    """Items not to show (already on the page, hidden by the shopper)."""


class Served(Documented):
    """What every recommendation-like answer carries, for attribution."""

    request_id: str
    model_versions: dict[str, str] = Field(default_factory=dict)
    """Model name -> registered version (or ``local`` / ``popularity``)."""
    variants: dict[str, str] = Field(default_factory=dict)
    """Experiment -> variant served (filled by the A/B layer)."""
    degraded: bool = False
    """True when a model or the feature store was unavailable and a fallback answered."""
    degraded_reasons: list[str] = Field(default_factory=list)
    unknown: dict[str, list[str]] = Field(default_factory=dict)
    """Request field -> the values of it the shop does not know (``{"context.category":
    ["shoes"]}``); empty when every id and category asked is known."""


class RecommendedItem(Documented):
    """One recommended item, best first."""

    item_id: str
    score: float
    """The ranking model's score: higher is better, non-increasing down the list and
    comparable within one answer only (not a rank position, not a probability, not
    across requests)."""
    category: str | None = None
    price: float | None = None
    """With ``include: ["price"]``: the price in force now (what ``/price`` answers)."""
    in_stock: bool | None = None
    """With ``include: ["stock"]``: whether the item is available (``true`` when stock
    is unknown)."""


class Listed(Served):
    """An answer that is a list of items."""

    items: list[RecommendedItem]
    """At most ``k`` items, best first (fewer: ``short_reason`` says why)."""
    short_reason: ShortReason | None = None
    """Why fewer than ``k`` items: ``not_enough_candidates`` (fewer items pass retrieval
    and the rules — stock, bought recently, per-category cap, ``exclude`` — than ``k``),
    ``unknown_category`` (the category filter names no category of the shop); ``null``
    when ``k`` items are returned."""


class RecommendRequest(Strict):
    """``POST /recommend``: a shopper (user or session id), their context, and k."""

    user_id: Id | None = None
    session_id: Id | None = None
    context: Context = Field(default_factory=Context)
    k: int = Field(default=10, ge=1, le=MAX_K)
    model: Literal["champion", "challenger"] = "champion"
    include: list[Include] = Field(default_factory=list, max_length=2)
    """Also answer each item's ``price`` in force and/or its availability (``in_stock``)."""
    request_id: Id | None = None
    """The caller's request id; a new one is made when absent."""


class RecommendResponse(Listed):
    strategy: str
    """``reranked``, ``retrieval`` (no re-ranker), ``popularity`` (cold start),
    ``bought_together`` (cart page), ``similar_items`` (product page)."""


class SimilarItemsRequest(Strict):
    item_id: Id
    k: int = Field(default=10, ge=1, le=MAX_K)
    category: Id | None = None
    request_id: Id | None = None


class SimilarItemsResponse(Listed):
    item_id: str
    known: bool
    """False: the item is not in the model; popular items answer."""


class BoughtTogetherRequest(Strict):
    cart_items: list[Id] = Field(min_length=1, max_length=MAX_CART)
    k: int = Field(default=10, ge=1, le=MAX_K)
    request_id: Id | None = None


class BoughtTogetherResponse(Listed):
    unknown_items: list[str] = Field(default_factory=list)


class PriceRequest(Strict):
    item_ids: list[Id] = Field(min_length=1, max_length=MAX_ITEMS)
    request_id: Id | None = None
    user_id: Id | None = None
    """Who asks (optional): it never changes the price (one price per item and moment
    for every shopper); only its pseudonym is logged, for the price-parity audit."""
    session_id: Id | None = None
    """The shopper's session (optional, pseudonymised like ``user_id``)."""


class ItemPrice(Documented):
    item_id: str
    price: float
    was_price: float | None = None
    """The lawful reference ("was") price, set only when ``is_reduced``: the lowest price
    of the item in the 30 days before the price in force took effect. ``null`` whenever
    the price is not a reduction from it: show no struck-through price then."""
    is_reduced: bool = False
    """True only when ``was_price`` is the lawful 30-day lowest and ``price`` is below
    it: the one case a storefront may show the price as reduced."""
    lowest_price_30d: float | None = None
    """The lowest price of the last 30 days, always given (for the shop's own display
    rules); never a "was" price by itself."""
    reasons: list[str]
    """Guardrail reasons of the approved price, or ``no_published_price``."""
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    proposal_id: str | None = None
    source: Literal["published", "feed"]
    variant: str | None = None
    """The pricing experiment's variant this item is in (item-randomised), if any."""


class PriceResponse(Served):
    prices: list[ItemPrice]
    unknown_items: list[str] = Field(default_factory=list)


class ForecastRequest(Strict):
    item_ids: list[Id] = Field(min_length=1, max_length=MAX_ITEMS)
    horizon: int = Field(default=7, ge=1, le=MAX_HORIZON)
    quantiles: list[Literal["p10", "p50", "p90"]] = Field(
        default_factory=lambda: ["p10", "p50", "p90"], max_length=3
    )
    location_id: Id | None = None
    request_id: Id | None = None


class ForecastPoint(Documented):
    location_id: str
    period_start: dt.date
    step: int
    forecast: float
    quantiles: dict[str, float]


class ItemForecast(Documented):
    item_id: str
    points: list[ForecastPoint]


class ForecastResponse(Served):
    forecasts: list[ItemForecast]
    unknown_items: list[str] = Field(default_factory=list)
    horizon: int
    """Periods answered (at most the stored forecasts' horizon)."""


class UserProfileRequest(Strict):
    user_id: Id
    request_id: Id | None = None


class UserProfileResponse(Served):
    user_id: str
    known: bool
    segment: str
    lifecycle_stage: str
    tags: list[str]
    top_categories: list[str]


Event = pydantic_model(
    SCHEMAS["events"],
    "Event",
    base=StrictFinite,
    str_type=Id,
    defaults={"quantity": 1},
    doc="One shopper event; the feed contract's rules apply (``events.parquet``).",
    module=__name__,
)
"""``POST /events``'s event, derived from the feed contract (``storefront.feeds.schemas``)."""


class EventsRequest(Strict):
    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)  # type: ignore[valid-type]


class EventsResponse(Documented):
    accepted: int
    """Events now persisted (new ones)."""
    duplicates: int
    """Events already stored earlier (same event_id); acknowledged, not stored twice."""
    event_ids: list[str]
    """Every acknowledged event id (accepted and duplicates)."""
    pushed: bool
    """Whether recent activity reached the online store (the events are stored either way)."""
    degraded: bool = False
    degraded_reasons: list[str] = Field(default_factory=list)


class ExperimentReportRequest(Strict):
    """An experiment by name (``storefront experiments list``)."""

    name: Id


class ExperimentReportResponse(Documented):
    """The experiment's report (the JSON of ``storefront experiments report``)."""

    name: str
    report: dict[str, Any]
    html: str
    """Where the same report is served as a page."""


class ReloadRequest(Strict):
    load_challenger: bool | None = None


class ReloadResponse(Documented):
    reloaded: bool
    model_versions: dict[str, str]
    degraded: bool
    degraded_reasons: list[str]
    seconds: float
