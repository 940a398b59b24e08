"""What the service logs: exposures (a variant was served) and outcomes (what followed).

Both are checked on construction, so a bad record is refused with the field named
before anything reaches the database. Unit ids arrive pseudonymised by the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, get_args

EventType = Literal["view", "click", "add_to_cart", "purchase"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def utc(moment: dt.datetime, name: str) -> dt.datetime:
    """``moment`` in UTC; naive datetimes are refused (the field is named)."""
    if not isinstance(moment, dt.datetime):
        raise ValueError(f"{name}: expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None:
        raise ValueError(f"{name}: {moment.isoformat()} has no timezone; timestamps are UTC")
    return moment.astimezone(dt.UTC)


def _require_id(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: expected a non-empty string, got {value!r}")


@dataclass(frozen=True, slots=True)
class Exposure:
    """One served answer in one experiment (log it when served, not when assigned).

    ``segment``, ``latency_ms`` and ``error`` are optional: a segment feeds the report's
    segment breakdown, latency and errors its guardrails.
    """

    request_id: str
    experiment: str
    variant: str
    unit_id: str
    surface: str
    served_at: dt.datetime
    items: list[str] = field(default_factory=list)
    prices: list[float] | None = None
    segment: str | None = None
    latency_ms: float | None = None
    error: bool | None = None

    def __post_init__(self) -> None:
        for name in ("request_id", "experiment", "variant", "unit_id", "surface"):
            _require_id(getattr(self, name), name)
        object.__setattr__(self, "served_at", utc(self.served_at, "served_at"))
        if self.prices is not None and len(self.prices) != len(self.items):
            raise ValueError(
                f"prices: {len(self.prices)} prices for {len(self.items)} items; one per item"
            )
        if self.latency_ms is not None and self.latency_ms < 0:
            raise ValueError(f"latency_ms: must be >= 0, got {self.latency_ms}")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One shopper event that may follow an exposure; ``event_id`` makes logging idempotent.

    ``unit_id`` is the pseudonymised shopper, ``session_id`` the session (for session
    experiments); item experiments attribute by ``item_id``. ``revenue`` is what was
    paid (purchases; 0 for other events) and ``profit`` revenue less cost where known.
    """

    event_id: str
    unit_id: str
    event_type: EventType
    item_id: str
    occurred_at: dt.datetime
    request_id: str | None = None
    session_id: str | None = None
    quantity: int = 1
    revenue: float = 0.0
    profit: float | None = None

    def __post_init__(self) -> None:
        for name in ("event_id", "unit_id", "item_id"):
            _require_id(getattr(self, name), name)
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"event_type: {self.event_type!r} is not one of {EVENT_TYPES}")
        if self.quantity < 1:
            raise ValueError(f"quantity: must be >= 1, got {self.quantity}")
        if self.revenue < 0:
            raise ValueError(f"revenue: must be >= 0, got {self.revenue}")
        object.__setattr__(self, "occurred_at", utc(self.occurred_at, "occurred_at"))
