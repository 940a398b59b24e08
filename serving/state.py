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
from pathlib import Path
from typing import Any

from serving.config import ServingConfig
from serving.engine import Engine
from serving.forecasts import Forecasts
from serving.models import load_alias
from serving.prices import PriceBook
from serving.recommend import Features, Recommender
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


class LockedOnline:
    """Serialises calls into the Feast online store (one SQLite connection per store)."""

    def __init__(self, online: Any) -> None:
        self.online, self.store, self.item_columns = online, online.store, online.item_columns
        self.lock = threading.Lock()

    def read_user(self, user_id: str) -> Any:
        with self.lock:
            return self.online.read_user(user_id)

    def read_user_interest(
        self, user_id: str, categories: list[str]
    ) -> tuple[dict[str, Any], bool, dict[str, float | None]]:
        """The shopper's features (as :meth:`features.online.OnlineFeatures.read_user`)
        and their interest in every category of ``categories``.

        Returns:
            The features (defaults when unknown), whether the shopper is known, and the
            interest by category.
        """
        from feast.type_map import feast_value_type_to_python_type

        from features.online import default_value
        from features.tables import USER, USER_CATEGORY

        online = self.online
        rows = {"user_id": [user_id] * len(categories), "category": list(categories)}
        with self.lock:  # two reads: repeating the shopper on every category row costs more
            proto = self.store.get_online_features(
                features=online._user_refs,
                entity_rows={"user_id": [user_id]},
                full_feature_names=True,
            ).proto
            interest_proto = self.store.get_online_features(
                features=[f"{USER_CATEGORY.name}:interest"], entity_rows=rows
            ).proto
        column = {n: k for k, n in enumerate(proto.metadata.feature_names.val)}

        def first(key: str) -> Any:
            return feast_value_type_to_python_type(proto.results[column[key]].values[0])

        snapshot = [k for k in online._user_fields if k.startswith(f"{USER.name}__")]
        known = any(first(k) is not None for k in snapshot)
        features = {}
        for key, (name, dtype) in online._user_fields.items():
            value = first(key)
            features[name] = value if value is not None else default_value(name, dtype)
        names = list(interest_proto.metadata.feature_names.val)
        values = interest_proto.results[names.index("interest")].values
        interest = {
            c: feast_value_type_to_python_type(v) for c, v in zip(categories, values, strict=True)
        }
        return features, known, interest

    def read_candidates(
        self, item_ids: list[str], user_id: str | None = None, categories: list[str] | None = None
    ) -> tuple[dict[str, dict[str, float | None]], dict[str, float | None]]:
        """One Feast read for the candidates: their packed feature vectors (as
        :meth:`features.online.OnlineFeatures.read_items`, without building a data
        frame) and, given a shopper, their interest in the candidates' categories.

        Returns:
            Features of the known items by id, and the interest by category.
        """
        from features.tables import ITEM_SERVING, USER_CATEGORY

        refs = [f"{ITEM_SERVING.name}:vector"]
        rows: dict[str, list[str]] = {"item_id": list(item_ids)}
        if user_id is not None and categories is not None:
            refs.append(f"{USER_CATEGORY.name}:interest")
            rows |= {"user_id": [user_id] * len(item_ids), "category": list(categories)}
        with self.lock:
            response = self.store.get_online_features(features=refs, entity_rows=rows)
        names = list(response.proto.metadata.feature_names.val)
        results = response.proto.results
        columns, width = self.item_columns, len(self.item_columns)
        items: dict[str, dict[str, float | None]] = {}
        for item, value in zip(item_ids, results[names.index("vector")].values, strict=True):
            vector = value.double_list_val.val
            if len(vector) == width:
                items[item] = {
                    c: (None if v != v else v) for c, v in zip(columns, vector, strict=True)
                }
        interest: dict[str, float | None] = {}
        if "interest" in names:
            for category, value in zip(
                categories or [], results[names.index("interest")].values, strict=True
            ):
                kind = value.WhichOneof("val")
                interest[category] = getattr(value, kind) if kind else None
        return items, interest

    def get_online_features(self, **kwargs: Any) -> Any:
        with self.lock:
            return self.store.get_online_features(**kwargs)


def open_online(data_dir: Path, cfg: ServingConfig) -> LockedOnline | None:
    """The shop's online features, or ``None`` (logged) when the store cannot open."""
    from features.config import FeatureConfig
    from features.online import OnlineFeatures
    from features.store import open_store
    from storefront.config import load_config

    try:
        features = load_config(FeatureConfig, cfg.features_config, name="features")
        return LockedOnline(OnlineFeatures(open_store(data_dir, features.store)))
    except Exception as exc:
        log.warning("feature store unavailable (%s): answering without online features", exc)
        return None


def build_state(
    cfg: ServingConfig,
    features: Features,
    rules: BusinessRules,
    purchases: Any,
    previous: State | None = None,
    load_challenger: bool | None = None,
    clock: Clock | None = None,
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
    features.catalogue = sorted(shop.categories)
    features.categories = sorted(set(shop.categories.values()))
    if features.cached and features.online is not None:
        features.refresh_items()  # the item table is fresh with every new state
    recommender = Recommender(engines, shop, features, rules, cfg.recommend, purchases, clock)
    return State(
        shop=shop,
        engines=engines,
        recommender=recommender,
        prices=PriceBook(data_dir, shop),
        forecasts=Forecasts(data_dir),
        degraded=degraded,
        clock=clock,
    )
