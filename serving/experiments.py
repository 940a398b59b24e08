"""The service's side of A/B tests: which variant a request gets, what was shown
(exposures) and what shoppers did afterwards (outcomes).

Running experiments are read from the experiment store at start and again every
``refresh_seconds`` (so ``storefront experiments create`` / ``stop`` take effect without
a restart); if the store cannot be read, the last list stays. Shopper ids are
pseudonymised before they reach an assignment or a log, and so are session ids (a
session experiment's unit, an outcome's session): a session id may embed the user id,
and a raw one beside the user's pseudonym would link every pseudonym back. Price
exposures are logged one per item (request id ``<request>/<item>``): pricing experiments
randomise by item or time slice, so every shopper sees the same price for an item at a
moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from experiments.assignment import Assigner, Assignment
from experiments.config import Experiment, Variant, load_settings
from experiments.records import EVENT_TYPES as OUTCOME_TYPES
from experiments.records import Exposure, Outcome
from experiments.store import ExperimentStore

log = logging.getLogger(__name__)
PAGE_SURFACES = {"home": "home_feed", "product": "similar_items", "cart": "bought_together"}
"""The experiment surface of a ``/recommend`` page type (others run no experiment)."""


def open_experiment_store(data_dir: Path, settings_path: str | None) -> ExperimentStore | None:
    """The experiment store of the settings (or ``<data_dir>/experiments.db``); ``None``
    (logged) when it cannot be opened: the service then runs no experiments."""
    try:
        return ExperimentStore.open(data_dir, load_settings(settings_path))
    except Exception:
        log.warning("experiment store unavailable: serving without experiments", exc_info=True)
        return None


@dataclass(frozen=True)
class Served:
    """The variants one request falls in, with what each changes."""

    assignments: list[Assignment]
    variants: dict[str, Variant]

    def names(self) -> dict[str, str]:
        """``{experiment: variant}`` for the answer."""
        return {a.experiment: a.variant for a in self.assignments}

    def setting(self, attribute: str) -> Any:
        """The first variant's value of ``attribute`` (``strategy``, ``model_alias``,
        ``pricing_policy``) among the request's experiments, or ``None``."""
        for assignment in self.assignments:
            value = getattr(self.variants[assignment.experiment], attribute)
            if value:
                return value
        return None


NOTHING = Served([], {})


class Experiments:
    """Assignment and logging for the running experiments.

    Args:
        store: The experiment store (``None``: no experiments, nothing logged).
        pseudonym: Keyed hash of shopper ids.
        refresh_seconds: How often the list of running experiments is re-read.
        unit_costs: Item → unit cost, for the profit of purchases.
        flush_seconds: Exposures are written in batches this often, off the request
            path (0: at once); at most this much of them is lost if the process dies.
    """

    def __init__(
        self,
        store: ExperimentStore | None,
        pseudonym: Callable[[str | None], str | None],
        refresh_seconds: float = 5.0,
        unit_costs: dict[str, float] | None = None,
        flush_seconds: float = 0.5,
    ) -> None:
        self.store, self.pseudonym = store, pseudonym
        self.refresh_seconds = refresh_seconds
        self.unit_costs = unit_costs or {}
        self._assigner = Assigner([])
        self._experiments: dict[str, Experiment] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._pending: list[Exposure] = []
        self._pending_lock = threading.Lock()
        self.flush_seconds = flush_seconds
        if store is not None and flush_seconds > 0:
            threading.Thread(target=self._flusher, name="exposure-log", daemon=True).start()

    def _current(self) -> tuple[Assigner, dict[str, Experiment]]:
        if self.store is not None and time.monotonic() - self._loaded_at > self.refresh_seconds:
            with self._lock:
                if time.monotonic() - self._loaded_at > self.refresh_seconds:
                    self.refresh()
        return self._assigner, self._experiments

    def refresh(self) -> None:
        """Re-read the running experiments (the last list stays if that fails)."""
        self._loaded_at = time.monotonic()
        if self.store is None:
            return
        try:
            running = self.store.running()
            self._assigner = Assigner(running)
            self._experiments = {e.name: e for e in running}
        except Exception:
            log.warning("could not read running experiments; keeping the last list", exc_info=True)

    def _served(self, assignments: list[Assignment], experiments: dict[str, Experiment]) -> Served:
        variants = {
            a.experiment: next(v for v in experiments[a.experiment].variants if v.name == a.variant)
            for a in assignments
        }
        return Served(assignments, variants)

    def for_shopper(
        self, page_type: str, user_id: str | None, session_id: str | None, at: dt.datetime
    ) -> Served:
        """The variants of a recommendation request."""
        surface = PAGE_SURFACES.get(page_type)
        if surface is None:
            return NOTHING
        assigner, experiments = self._current()
        found = assigner.assign(
            surface,
            at,
            shopper_id=self.pseudonym(user_id),
            session_id=self.pseudonym(session_id),  # type: ignore[arg-type]
        )
        return self._served(found, experiments) if found else NOTHING

    def for_items(self, item_ids: Iterable[str], at: dt.datetime) -> dict[str, Served]:
        """The pricing variants of each item (items in no experiment are left out)."""
        assigner, experiments = self._current()
        out = {}
        for item in item_ids:
            found = assigner.assign("pricing", at, item_id=item)
            if found:
                out[item] = self._served(found, experiments)
        return out

    def log_recommendation(
        self, request_id: str, surface: str, served: Served, items: list[str],
        at: dt.datetime, latency_ms: float, error: bool,
    ) -> None:  # fmt: skip
        """One exposure per experiment of a served list (failures are logged, not raised:
        a lost exposure must not fail the answer)."""
        if self.store is None or not served.assignments:
            return
        exposures = [
            Exposure(request_id=request_id, experiment=a.experiment, variant=a.variant,
                     unit_id=a.unit_id, surface=surface, served_at=at, items=items,
                     latency_ms=latency_ms, error=error)
            for a in served.assignments
        ]  # fmt: skip
        self._queue(exposures)

    def log_prices(
        self, request_id: str, served: dict[str, Served], prices: dict[str, float],
        at: dt.datetime,
    ) -> None:  # fmt: skip
        """One exposure per priced item and experiment."""
        if self.store is None or not served:
            return
        exposures = [
            Exposure(request_id=f"{request_id}/{item}", experiment=a.experiment,
                     variant=a.variant, unit_id=a.unit_id, surface="pricing", served_at=at,
                     items=[item], prices=[prices[item]])
            for item, s in served.items() if item in prices
            for a in s.assignments
        ]  # fmt: skip
        self._queue(exposures)

    def log_events(self, events: pl.DataFrame) -> None:
        """Stored shopper events as outcomes: a view carrying a request id is a click on
        what was served; purchases carry revenue and, where the cost is known, profit.
        Returns are not outcomes of the experiment log (yet): they are left out."""
        if self.store is None or events.is_empty() or not self._current()[1]:
            return
        outcomes = []
        for e in events.filter(pl.col("event_type").is_in(OUTCOME_TYPES)).iter_rows(named=True):
            kind = "click" if e["event_type"] == "view" and e.get("request_id") else e["event_type"]
            revenue, profit = self._money(kind, e["item_id"], e["unit_price"], e["quantity"])
            outcomes.append(
                Outcome(event_id=e["event_id"], unit_id=self.pseudonym(e["user_id"]) or "",
                        event_type=kind, item_id=e["item_id"], occurred_at=e["timestamp"],
                        request_id=e.get("request_id"),
                        session_id=self.pseudonym(e["session_id"]),
                        quantity=e["quantity"], revenue=revenue, profit=profit)
            )  # fmt: skip
        self._log(self.store.log_outcomes, outcomes)

    def _money(
        self, kind: str, item_id: str, unit_price: float, quantity: int
    ) -> tuple[float, float | None]:
        """Revenue and profit of an event: zero unless a purchase; profit unknown when the
        item's cost is."""
        if kind != "purchase":
            return 0.0, 0.0
        revenue = unit_price * quantity
        cost = self.unit_costs.get(item_id)
        return revenue, None if cost is None else revenue - cost * quantity

    def _queue(self, exposures: list[Exposure]) -> None:
        if self.flush_seconds <= 0:
            self._log(self.store.log_exposures, exposures)  # type: ignore[union-attr]
            return
        with self._pending_lock:
            self._pending.extend(exposures)

    def flush(self) -> None:
        """Write the exposures waiting for the next batch."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if batch and self.store is not None:
            self._log(self.store.log_exposures, batch)

    def _flusher(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            self.flush()

    @staticmethod
    def _log(write: Callable[[list[Any]], None], rows: list[Any]) -> None:
        try:
            write(rows)
        except Exception:
            log.warning("experiment log write failed (%d rows)", len(rows), exc_info=True)
