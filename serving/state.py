"""The service's state: everything a request reads, built whole and swapped at once.

``build_state`` loads the shop's feeds and the models by alias into a new
:class:`State`; the service swaps its single reference to it, so requests in flight
finish on the old state and none is dropped. A part that fails to load keeps the
previous state's copy (or falls back to popularity), and the state says why.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from serving.config import ServingConfig
from serving.engine import Engine
from serving.forecasts import Forecasts
from serving.models import load_alias
from serving.prices import PriceBook
from serving.reader import Features
from serving.recommend import Recommender
from serving.rules import BusinessRules
from serving.shop import Shop
from storefront.clock import Clock, SystemClock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class State:
    """One consistent snapshot of what the service serves."""

    shop: Shop
    engines: dict[str, Engine]
    recommender: Recommender
    prices: PriceBook
    forecasts: Forecasts
    degraded: list[str] = field(default_factory=list)
    built_at: float = field(default_factory=time.time)
    clock: Clock = field(default_factory=SystemClock)
    """Business time of every request on this state (the wall clock in production)."""

    def versions(self) -> dict[str, str]:
        """Alias -> model version served."""
        return {
            alias: f"{e.version}" + ("" if e.loaded.source == "registry" else " (local copy)")
            for alias, e in self.engines.items()
        }


class Backlog:
    """Pushes stored events that never reached the online store (a crash between the
    commit and the push, or the store down meanwhile), in batches, in the background.

    Args:
        events: The event store (:class:`serving.events.EventStore`).
        push: Pushes a frame of events online; ``True`` when it worked.
        interval_seconds: Pause between rounds while nothing is left (or pushing fails:
            then doubling up to ``max_backoff_seconds``).
        batch: Events per push.
        grace_seconds: Events received this recently are left to the request that
            stored them (it pushes them itself).
    """

    def __init__(
        self,
        events: Any,
        push: Any,
        interval_seconds: float = 2.0,
        batch: int = 500,
        grace_seconds: float = 10.0,
        max_backoff_seconds: float = 60.0,
    ) -> None:
        self.events, self.push, self.interval, self.batch = events, push, interval_seconds, batch
        self.grace, self.max_backoff = grace_seconds, max_backoff_seconds
        self.pushed = 0
        self._stop = threading.Event()

    def start(self) -> Backlog:
        threading.Thread(target=self._loop, name="event-backlog", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def drain(self) -> bool:
        """Push batches until none is left; ``False`` when a push failed."""
        import datetime as dt

        while not self._stop.is_set():
            before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.grace)
            frame = self.events.unpushed(self.batch, received_before=before)
            if frame.is_empty():
                return True
            if not self.push(frame):
                return False
            self.events.mark_pushed(frame["event_id"].to_list())
            self.pushed += frame.height
            log.info("pushed %d stored events online (%d so far)", frame.height, self.pushed)
        return True

    def _loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            try:
                fine = self.drain()
            except Exception as exc:  # its type only: a message may quote user ids
                log.warning("pushing stored events failed: %s", type(exc).__name__)
                fine = False
            wait = self.interval if fine else min(wait * 2, self.max_backoff)


def build_state(
    cfg: ServingConfig,
    features: Features,
    rules: BusinessRules,
    purchases: Any,
    previous: State | None = None,
    load_challenger: bool | None = None,
    clock: Clock | None = None,
    online_ok: bool | None = None,
    activity: Any = None,
    rankings: Any = None,
) -> State:
    """Load feeds and models into a new state (parts that fail keep their old copy).

    Args:
        cfg: The service's settings.
        features: The online feature reader (kept across states).
        rules: The business rules.
        purchases: ``(user_id, since) -> item ids`` bought through the service lately.
        previous: The state this one replaces (its parts stand in for failed loads).
        load_challenger: Also load ``@challenger`` (default: the settings say).
        clock: Business time ("now") of the new state; default the previous state's
            clock, else the wall clock.
        online_ok: Whether the online store works (default: it is open); ``False``
            adds ``feature_store_unavailable`` to the state's degraded reasons.
        activity: Recent items through the service by shopper and session
            (:class:`serving.activity.RecentActivity`); default the previous state's.
        rankings: The ranking cache (:class:`serving.rankings.RankingCache`); default
            the previous state's (its entries name the engine that ranked them).
    """
    clock = clock or (previous.clock if previous is not None else SystemClock())
    data_dir = cfg.resolved_data_dir()
    degraded: list[str] = []
    try:
        shop = Shop.load(data_dir)
    except Exception as exc:
        log.warning("feeds unreadable (%s)", exc)
        degraded.append("feeds_unavailable")
        shop = previous.shop if previous else Shop({}, {}, [])
    aliases = [cfg.models.champion_alias]
    challenger = cfg.models.load_challenger if load_challenger is None else load_challenger
    if challenger:
        aliases.append(cfg.models.challenger_alias)
    engines: dict[str, Engine] = {}
    for alias, name in zip(aliases, ("champion", "challenger"), strict=False):
        try:
            loaded = load_alias(cfg.models, alias, cfg.workspace().model_copies)
            engines[name] = Engine(loaded)
            if loaded.source != "registry":
                degraded.append(f"{name}_from_local_copy")
        except Exception as exc:
            log.warning("model %s@%s not loaded: %s", cfg.models.name, alias, exc)
            if previous is not None and name in previous.engines:
                engines[name] = previous.engines[name]
                degraded.append(f"{name}_reload_failed")
            else:
                degraded.append(f"{name}_unavailable")
    if not (features.online is not None if online_ok is None else online_ok):
        degraded.append("feature_store_unavailable")
    features.catalogue = sorted(shop.categories)
    features.categories = sorted(set(shop.categories.values()))
    if features.cached and features.online is not None:
        features.refresh_items()  # the item table is fresh with every new state
    if previous is not None:
        activity = activity if activity is not None else previous.recommender.activity
        rankings = rankings if rankings is not None else previous.recommender.rankings
    recommender = Recommender(
        engines, shop, features, rules, cfg.recommend, purchases, clock, activity, rankings
    )
    return State(
        shop=shop,
        engines=engines,
        recommender=recommender,
        prices=PriceBook(data_dir, shop),
        forecasts=Forecasts(data_dir),
        degraded=degraded,
        clock=clock,
    )
