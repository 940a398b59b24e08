"""Simulated shoppers against the running service: the end-to-end check of an
experiment (``storefront experiments simulate``).

Shoppers of the simulated shop (its ``ground_truth.npz``) ask the service for their home
feed and react to what they are shown by the simulator's own choice model: they look at
position ``r`` with chance ``examine_decay ** r``, a look is a ``view`` carrying the
answer's request id (a click on the recommendation), and it turns into an add-to-cart
and a purchase with the truth's chances. For pricing, every item's price is asked each
day and its sales are drawn from the truth's demand at that price. Every event goes back
through ``/events``, so the service attributes it like real traffic. Every call goes
through the service's typed client (:class:`serving.client.StorefrontClient`; a plain
``post(path, body)`` function is wrapped in one).

Beside the sampled events, the expected value of every outcome under the truth is kept
per variant: the lift the truth implies for the answers actually served, to hold the
measured lift against.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field

from serving.client import Post, StorefrontClient
from simulator.truth import GroundTruth
from storefront.config import Settings

Service = StorefrontClient | Post
"""The service: its typed client, or a ``post(path, body) -> answer`` function."""
MAX_BATCH = 500


def _client(service: Service) -> StorefrontClient:
    """``service`` as a typed client."""
    return service if isinstance(service, StorefrontClient) else StorefrontClient.over(service)


class TrafficConfig(Settings):
    """How much simulated traffic, and how shoppers read a list."""

    shoppers: int = Field(default=1500, ge=10)
    visits_per_shopper: int = Field(default=2, ge=1)
    k: int = Field(default=10, ge=1, le=100)
    examine_decay: float = Field(default=0.85, gt=0, le=1)
    """Chance of looking at position r (0-based) is ``examine_decay ** r``."""
    pricing_items: int = Field(default=400, ge=2)
    pricing_days: int = Field(default=14, ge=1)
    pre_days: int = Field(default=14, ge=0)
    """Days of sales at current prices before the price test (its CUPED covariate)."""
    seed: int = 7


@dataclass
class Expected:
    """Per variant: the truth's expected outcomes of what was served, and the units."""

    units: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    value: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Sum over units of the metric's expected value (e.g. chance of converting)."""
    events: int = 0
    true_effect: dict[str, float] = field(default_factory=dict)
    """Per variant: the truth's expected metric per unit had *every* unit been given
    that variant (counterfactual; empty where it cannot be computed)."""

    def means(self) -> dict[str, float]:
        """Expected metric per unit, by variant."""
        return {v: self.value[v] / max(len(u), 1) for v, u in self.units.items()}

    def lift(self, control: str, treatment: str) -> float:
        """The relative lift of ``treatment`` over ``control`` the truth implies: over
        every unit where known (:attr:`true_effect`), else for the units as served."""
        means = self.true_effect or self.means()
        return means[treatment] / means[control] - 1


class Quotes:
    """The service's prices (``/price``), asked once per item and kept for the run: a
    purchase or add-to-cart carries the price the shopper was shown (the service refuses
    any other, ``events.price_tolerance``)."""

    def __init__(self, service: Service, fallback: Callable[[str], float]) -> None:
        self.client, self.fallback, self.known = _client(service), fallback, {}

    def __call__(self, items: list[str]) -> np.ndarray:
        """The quoted price of each item (its ``fallback`` when the service has none)."""
        missing = list(dict.fromkeys(i for i in items if i not in self.known))
        for start in range(0, len(missing), 100):
            chunk = missing[start : start + 100]
            for quote in self.client.price(chunk).prices:
                self.known[quote.item_id] = float(quote.price)
            for item in chunk:
                self.known.setdefault(item, self.fallback(item))
        return np.array([self.known[i] for i in items], dtype=float)


class EventSender:
    """Buffers events and posts them to ``/events`` in batches."""

    def __init__(self, service: Service) -> None:
        self.client, self.buffer, self.sent = _client(service), [], 0

    def add(self, **event: Any) -> None:
        """Queue one event (sent when the batch is full, or on :meth:`flush`)."""
        self.buffer.append({"event_id": uuid.uuid4().hex, **event})
        if len(self.buffer) >= MAX_BATCH:
            self.flush()

    def flush(self) -> None:
        """Send what is queued; raises if the service did not store all of it."""
        if not self.buffer:
            return
        answer = self.client.events(self.buffer)
        if answer.accepted + answer.duplicates != len(self.buffer):
            raise RuntimeError(f"/events stored {answer} of {len(self.buffer)} events")
        self.sent += len(self.buffer)
        self.buffer = []


def home_feed(
    service: Service, truth: GroundTruth, experiment: str, cfg: TrafficConfig
) -> Expected:
    """Shoppers visit the home feed (events stamped with the moment of the visit, so they
    never reach into another test's window); returns the truth's expected conversion per
    variant (the chance a shopper buys at least once from what they were shown)."""
    rng = np.random.default_rng(cfg.seed)
    w, b = truth.world, truth.cfg.behaviour
    weights = w.activity / w.activity.sum()
    size = min(cfg.shoppers, int((weights > 0).sum()))  # a small shop has fewer shoppers
    shoppers = rng.choice(len(w.user_ids), size=size, replace=False, p=weights)
    examine = cfg.examine_decay ** np.arange(cfg.k)
    client = _client(service)
    sender, expected = EventSender(client), Expected()
    quotes = Quotes(client, lambda item: float(w.base_price[truth.item_index(item)]))
    no_purchase: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    sessions = _session_ids(cfg.seed)
    for u in np.repeat(shoppers, cfg.visits_per_shopper):
        user, session = str(w.user_ids[u]), next(sessions)
        moment = dt.datetime.now(dt.UTC)
        answer = client.recommend(user_id=user, session_id=session, k=cfg.k, page_type="home")
        variant, items = answer.variants.get(experiment), [i.item_id for i in answer.items]
        if variant is None or not items:
            continue
        prices = quotes(items)  # what the shopper is shown
        look = examine[: len(items)]
        p_cart = truth.cart_probability(user, items, prices)
        expected.units[variant].add(user)
        no_purchase[variant, user] *= float(np.prod(1 - look * p_cart * b.purchase_given_cart))
        looked = rng.random(len(items)) < look
        carted = looked & (rng.random(len(items)) < p_cart)
        bought = carted & (rng.random(len(items)) < b.purchase_given_cart)
        for k, item in enumerate(items):
            for kind, happened in (("view", looked), ("add_to_cart", carted), ("purchase", bought)):
                if happened[k]:
                    sender.add(user_id=user, session_id=session, item_id=item, event_type=kind,
                               timestamp=moment + dt.timedelta(milliseconds=10 * k + 1),
                               quantity=1, unit_price=float(prices[k]),
                               request_id=answer.request_id)  # fmt: skip
    sender.flush()
    expected.events = sender.sent
    for (variant, _), none in no_purchase.items():
        expected.value[variant] += 1 - none
    return expected


def _session_ids(seed: int) -> Iterator[str]:
    """Random session ids (their own generator: the traffic's draws stay as they were),
    never derived from a user id, so a session id cannot lead back to its shopper."""
    rng = np.random.default_rng([seed, 1])
    while True:
        yield f"sim-{rng.integers(1 << 62):016x}"


def _sell(
    sender: EventSender, rng: np.random.Generator, buyers: int, item: str, price: float,
    mean: float, at: dt.datetime,
    price_at: Callable[[dt.datetime], float] | None = None,
) -> None:  # fmt: skip
    """Purchases of one item in one simulated day: Poisson(mean) sales by pricing-test
    buyers (ids of their own, so they never count in a shopper experiment), within a
    minute of ``at``: the service's clock runs in real time, a simulated day is a minute.
    Each sale is at ``price``, or at ``price_at`` its moment when given."""
    for _ in range(rng.poisson(mean)):
        user = f"price-buyer-{rng.integers(buyers)}"
        stamp = at + dt.timedelta(seconds=int(rng.integers(60)))
        paid = price if price_at is None else price_at(stamp)
        sender.add(user_id=user, session_id=f"sim-{uuid.uuid4().hex[:16]}", item_id=item,
                   event_type="purchase", quantity=1, unit_price=paid,
                   timestamp=stamp)  # fmt: skip


def pricing(
    service: Service,
    truth: GroundTruth,
    cfg: TrafficConfig,
    start: dt.date,
    policies: dict[str, dict[str, float]],
    before: Callable[[dt.datetime], dict[str, float]] | None = None,
) -> Expected:
    """An item-randomised price test.

    First ``pre_days`` of sales at the prices in force before the test (the pre-period:
    each item's CUPED covariate), stamped in the minutes before the test; then each
    simulated day from ``start`` (the truth's calendar) every item's price is asked and
    its sales drawn from the truth's demand at the price served, stamped just after it
    was served.

    Args:
        service: The service's client (or a ``post`` function).
        truth: The simulated shop.
        cfg: Items, days, seed.
        start: First simulated day of the test.
        policies: Policy name (the variant names) → item → the price that policy sets;
            gives the truth's counterfactual lift over *all* items.
        before: The moment → item → the price the service quoted then, before the
            test (the ledger's price in force, else the feed's): the pre-period's
            prices, each sale at the price of its moment. Default: the first policy's.

    Returns:
        Expected profit per item by variant for what was served, and in ``true_effect``
        the truth's lift of each policy over every item (no arm composition in it).
    """
    rng = np.random.default_rng(cfg.seed + 1)
    w = truth.world
    items = [str(i) for i in w.item_ids[: cfg.pricing_items]]
    client = _client(service)
    sender, expected = EventSender(client), Expected()
    now = dt.datetime.now(dt.UTC)
    current = next(iter(policies.values()))
    for day in range(cfg.pre_days):
        date = start - dt.timedelta(days=cfg.pre_days - day)
        at = now - dt.timedelta(minutes=cfg.pre_days - day + 1)
        for item in items:
            price = current[item] if before is None else before(at)[item]
            price_at = None if before is None else (lambda t, i=item: before(t)[i])
            _sell(sender, rng, len(w.user_ids), item, price,
                  float(truth.demand(item, price, date)), at, price_at)  # fmt: skip
    sender.flush()
    for day in range(cfg.pricing_days):
        date = start + dt.timedelta(days=day)
        for chunk in range(0, len(items), 100):
            answer = client.price(items[chunk : chunk + 100])
            served = dt.datetime.now(dt.UTC)
            for quote in answer.prices:
                variant = quote.variant
                if variant is None:
                    continue
                item, price = quote.item_id, float(quote.price)
                mean = float(truth.demand(item, price, date))
                expected.units[variant].add(item)
                expected.value[variant] += (
                    price - float(w.unit_cost[truth.item_index(item)])
                ) * mean
                _sell(sender, rng, len(w.user_ids), item, price, mean, served)
    sender.flush()
    expected.events = sender.sent
    expected.true_effect = _policy_profits(truth, items, policies, start, cfg.pricing_days)
    return expected


def _policy_profits(
    truth: GroundTruth, items: list[str], policies: dict[str, dict[str, float]],
    start: dt.date, days: int,
) -> dict[str, float]:  # fmt: skip
    """Each policy's true expected profit per item over the test days, every item."""
    w = truth.world
    totals = {}
    for name, prices in policies.items():
        total = 0.0
        for item in items:
            cost = float(w.unit_cost[truth.item_index(item)])
            total += sum((prices[item] - cost) * float(truth.demand(item, prices[item],
                         start + dt.timedelta(days=d))) for d in range(days))  # fmt: skip
        totals[name] = total / len(items)
    return totals
