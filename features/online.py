"""Online reads for serving: one shopper plus up to hundreds of items, in milliseconds.

The shopper's features (snapshot and real-time recent activity) come in one Feast call
by name; the items' come in a second call as packed vectors (``item_serving``), one
stored value per item rather than one per item and feature, which keeps the read fast.
Entities the store does not know get defaults: counts 0, lists empty, a new shopper's
segment and stage, everything else unknown (null).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from features.tables import ITEM_SERVING, RECENT, USER

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


class OnlineFeatures:
    """Reads a shopper and their candidate items from the online store.

    Args:
        store: An open ``feast.FeatureStore`` with the definitions applied.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._user_fields = {
            f"{table.name}__{f.name}": (f.name, f.dtype)
            for table in (USER, RECENT)
            for f in store.get_feature_view(table.name).features
        }
        self._user_refs = [key.replace("__", ":", 1) for key in self._user_fields]
        self.item_columns: list[str] = (
            store.get_feature_view(ITEM_SERVING.name).tags["columns"].split(",")
        )
        self._item_default = np.array(
            [0.0 if COUNT.search(c) else np.nan for c in self.item_columns]
        )

    def read_user(self, user_id: str) -> tuple[dict[str, Any], bool]:
        """The shopper's features (defaults when unknown) and whether they are known."""
        response = self.store.get_online_features(
            features=self._user_refs, entity_rows={"user_id": [user_id]}, full_feature_names=True
        ).to_dict()
        snapshot = [k for k in self._user_fields if k.startswith(f"{USER.name}__")]
        known = any(response[k][0] is not None for k in snapshot)
        features = {}
        for key, (name, dtype) in self._user_fields.items():
            value = response[key][0]
            features[name] = value if value is not None else default_value(name, dtype)
        return features, known

    def read_items(self, item_ids: Sequence[str]) -> tuple[pl.DataFrame, pl.Series]:
        """Item feature rows in request order (defaults when unknown) and which are known."""
        if len(item_ids) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} items per read, got {len(item_ids)}")
        matrix = np.tile(self._item_default, (len(item_ids), 1))
        known = np.zeros(len(item_ids), bool)
        if item_ids:
            response = self.store.get_online_features(
                features=[f"{ITEM_SERVING.name}:vector"], entity_rows={"item_id": list(item_ids)}
            )
            names = list(response.proto.metadata.feature_names.val)
            values = response.proto.results[names.index("vector")].values
            for row, value in enumerate(values):
                vector = value.double_list_val.val
                if len(vector) == len(self.item_columns):
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
