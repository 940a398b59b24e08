"""Online reads for serving: one shopper plus up to hundreds of items, in milliseconds.

Reads go straight through the configured Feast online store's interface
(``OnlineStore.online_read``, one call per feature view), not through
``FeatureStore.get_online_features``: no registry look-ups, entity-row checks or response
protobufs per request. Every thread reads through its own online-store object (a SQLite
store holds one connection, so threads never share one), and no Python lock is taken.
A shopper's read (snapshot, recent activity and, asked for, their interest in every
category) is one call of :meth:`OnlineFeatures.fetch`; the items' come as packed vectors
(``item_serving``), one stored value per item rather than one per item and feature.
Entities the store does not know get defaults: counts 0, lists empty, a new shopper's
segment and stage, everything else unknown (null).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features.tables import ITEM_SERVING, RECENT, USER, USER_CATEGORY

MAX_ITEMS = 500
COUNT = re.compile(
    r"^(views|carts|purchases|units)_\d+d$|^(frequency|monetary|session_views|session_carts)$"
)
"""Features that are counts or sums: zero, not unknown, for an entity never seen."""
USER_DEFAULTS: dict[str, Any] = {"rfm_segment": "prospect", "lifecycle_stage": "new"}


def default_value(name: str, dtype: object) -> Any:
    """What a feature of an entity the store has never seen is taken to be."""
    if name in USER_DEFAULTS:
        return USER_DEFAULTS[name]
    if str(dtype).startswith("Array"):
        return []
    return 0 if COUNT.search(name) else None


@dataclass(frozen=True)
class OnlineRead:
    """Features of one request.

    Attributes:
        user: The shopper's features by name (snapshot and recent activity).
        items: One row per requested item, in request order: ``item_id`` then every
            item feature as Float64 (flags as 0/1).
        user_known: Whether the store had the shopper.
        items_known: Per item, whether the store had it.
    """

    user: dict[str, Any]
    items: pl.DataFrame
    user_known: bool
    items_known: pl.Series


@dataclass(frozen=True)
class ShopperRead:
    """A shopper's features with their interest per category (one :meth:`fetch`).

    Attributes:
        features: The shopper's features by name (defaults when unknown).
        known: Whether the store had the shopper.
        interest: The shopper's interest (log2) by category; ``None`` where none.
    """

    features: dict[str, Any]
    known: bool
    interest: dict[str, float | None]


@dataclass(frozen=True)
class ViewRead:
    """One feature view's part of a :meth:`OnlineFeatures.fetch`.

    Attributes:
        view: The feature view's name.
        keys: One tuple of join-key values per entity, in the order of the table's
            keys (:data:`features.tables.USER_CATEGORY`: user, category).
        features: The features to read.
    """

    view: str
    keys: Sequence[tuple[str, ...]]
    features: Sequence[str]


Row = dict[str, Any] | None
"""One entity's stored values by feature name (``ValueProto``), ``None``: not stored."""


class OnlineFeatures:
    """Reads a shopper and their candidate items from the online store, lock-free.

    Safe to share between threads: each thread gets its own online-store object of the
    store's configuration (:meth:`online_store`), so no connection is ever shared.

    Args:
        store: An open ``feast.FeatureStore`` with the definitions applied.

    Attributes:
        store: The Feast store (its own online-store object serves pushes and writes).
        user_fields: ``"<view>__<feature>"`` → ``(feature, dtype)`` of the shopper's
            snapshot and recent-activity features.
        user_refs: The same features as Feast references (``"<view>:<feature>"``).
        item_columns: The order of the item features in the packed vectors.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.config = store.config
        tables = (USER, RECENT, USER_CATEGORY, ITEM_SERVING)
        self.views = {t.name: store.get_feature_view(t.name) for t in tables}
        self.join_keys = {t.name: list(t.keys) for t in tables}
        self.user_fields: dict[str, tuple[str, Any]] = {
            f"{table.name}__{f.name}": (f.name, f.dtype)
            for table in (USER, RECENT)
            for f in self.views[table.name].features
        }
        self.user_refs = [key.replace("__", ":", 1) for key in self.user_fields]
        self.item_columns: list[str] = self.views[ITEM_SERVING.name].tags["columns"].split(",")
        self._item_default = np.array(
            [0.0 if COUNT.search(c) else np.nan for c in self.item_columns]
        )
        self._local = threading.local()
        self.sqlite_path = _sqlite_path(self.config)
        """The SQLite file read (``None``: another kind of online store)."""

    def online_store(self) -> Any:
        """This thread's online-store object (a Feast ``OnlineStore`` of the store's
        configuration), created on the thread's first read.

        Raises:
            FileNotFoundError: The SQLite file is gone (opening it would create an
                empty store and answer every shopper as unknown).
        """
        online = getattr(self._local, "online", None)
        if online is None:
            from feast.infra.online_stores.helpers import get_online_store_from_config

            if self.sqlite_path is not None and not self.sqlite_path.is_file():
                raise FileNotFoundError(f"online store {self.sqlite_path} is missing")
            online = get_online_store_from_config(self.config.online_store)
            self._local.online = online
        return online

    def fetch(self, reads: Sequence[ViewRead]) -> list[list[Row]]:
        """The store round trip of one request: every view of ``reads`` through
        ``OnlineStore.online_read`` (one query per view), on this thread's store object.

        Returns:
            Per read, one row per key (in key order).
        """
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        online, out = self.online_store(), []
        for read in reads:
            view, join_keys = self.views[read.view], self.join_keys[read.view]
            keys = [
                EntityKey(join_keys=join_keys, entity_values=[Value(string_val=v) for v in key])
                for key in read.keys
            ]
            rows = online.online_read(self.config, view, keys, list(read.features))
            out.append([values for _, values in rows])
        return out

    def _user_reads(self, user_id: str) -> list[ViewRead]:
        return [
            ViewRead(t.name, [(user_id,)], [f.name for f in self.views[t.name].features])
            for t in (USER, RECENT)
        ]

    def _user_values(self, snapshot: Row, recent: Row) -> tuple[dict[str, Any], bool]:
        from feast.type_map import feast_value_type_to_python_type as decode

        rows = {USER.name: snapshot or {}, RECENT.name: recent or {}}
        features, known = {}, False
        for key, (name, dtype) in self.user_fields.items():
            view = key.split("__", 1)[0]
            stored = rows[view].get(name)
            value = None if stored is None else decode(stored)
            known = known or (view == USER.name and value is not None)
            features[name] = value if value is not None else default_value(name, dtype)
        return features, known

    def read_user(self, user_id: str) -> tuple[dict[str, Any], bool]:
        """The shopper's features (defaults when unknown) and whether they are known."""
        snapshot, recent = (rows[0] for rows in self.fetch(self._user_reads(user_id)))
        return self._user_values(snapshot, recent)

    def read_shopper(self, user_id: str, categories: Sequence[str]) -> ShopperRead:
        """The shopper's features and their interest in every category of
        ``categories``, in one :meth:`fetch`."""
        interest = ViewRead(USER_CATEGORY.name, [(user_id, c) for c in categories], ["interest"])
        snapshot, recent, rows = self.fetch([*self._user_reads(user_id), interest])
        features, known = self._user_values(snapshot[0], recent[0])
        by_category = dict(zip(categories, map(interest_value, rows), strict=True))
        return ShopperRead(features, known, by_category)

    def read_interest(self, user_id: str, categories: Sequence[str]) -> list[float | None]:
        """The shopper's interest in each of ``categories`` (``None`` where none)."""
        reads = [ViewRead(USER_CATEGORY.name, [(user_id, c) for c in categories], ["interest"])]
        return [interest_value(row) for row in self.fetch(reads)[0]]

    def read_vectors(self, item_ids: Sequence[str]) -> list[Sequence[float] | None]:
        """The packed feature vectors of ``item_ids`` in request order (``None``:
        unknown item); one view read."""
        reads = [ViewRead(ITEM_SERVING.name, [(i,) for i in item_ids], ["vector"])]
        width, vectors = len(self.item_columns), []
        for row in self.fetch(reads)[0]:
            vector = row["vector"].double_list_val.val if row and "vector" in row else ()
            vectors.append(vector if len(vector) == width else None)
        return vectors

    def read_items(self, item_ids: Sequence[str]) -> tuple[pl.DataFrame, pl.Series]:
        """Item feature rows in request order (defaults when unknown) and which are known."""
        if len(item_ids) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} items per read, got {len(item_ids)}")
        matrix = np.tile(self._item_default, (len(item_ids), 1))
        known = np.zeros(len(item_ids), bool)
        if item_ids:
            for row, vector in enumerate(self.read_vectors(item_ids)):
                if vector is not None:
                    matrix[row] = vector
                    known[row] = True
        items = pl.DataFrame(matrix, schema=self.item_columns, orient="row").with_columns(
            pl.Series("item_id", list(item_ids), pl.String)
        )
        return items.select("item_id", *self.item_columns).fill_nan(None), pl.Series("known", known)

    def read(self, user_id: str, item_ids: Sequence[str]) -> OnlineRead:
        """The shopper and ``item_ids`` (at most :data:`MAX_ITEMS`)."""
        user, user_known = self.read_user(user_id)
        items, items_known = self.read_items(item_ids)
        return OnlineRead(user, items, user_known, items_known)


def interest_value(row: Row) -> float | None:
    """A stored interest value (``None``: not stored or null)."""
    if not row or "interest" not in row:
        return None
    value = row["interest"]
    kind = value.WhichOneof("val")
    return getattr(value, kind) if kind else None


def _sqlite_path(config: Any) -> Path | None:
    """The SQLite file of a store's configuration (``None``: not a SQLite store)."""
    online = config.online_store
    if getattr(online, "type", None) != "sqlite":
        return None
    path = Path(online.path)
    if not path.is_absolute() and config.repo_path:
        path = Path(config.repo_path) / path
    return path
