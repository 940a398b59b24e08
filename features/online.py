"""Online reads for serving: one shopper plus up to hundreds of items in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from features.tables import ITEM, RECENT, USER

MAX_ITEMS = 500

USER_DEFAULTS: dict[str, Any] = {"rfm_segment": "prospect", "lifecycle_stage": "new"}
"""Values for a shopper the store does not know yet, where a type default is wrong."""


def _type_default(dtype: object) -> Any:
    """0 for counts, ``False`` for flags, ``[]`` for lists, ``None`` (unknown) otherwise."""
    name = str(dtype)
    if name.startswith("Int"):
        return 0
    if name == "Bool":
        return False
    if name.startswith("Array"):
        return []
    return None


@dataclass(frozen=True)
class OnlineRead:
    """Features of one request: the shopper's (with recent activity) and each item's."""

    user: dict[str, Any]
    items: pl.DataFrame
    user_known: bool
    items_known: pl.Series


class OnlineFeatures:
    """Reads user, recent-activity and item features from the online store.

    Args:
        store: An open ``feast.FeatureStore`` whose definitions are applied.
        user_features: Features of ``user_features`` to read (default: all).
        item_features: Features of ``item_features`` to read (default: all).
    """

    def __init__(
        self,
        store: Any,
        user_features: Sequence[str] | None = None,
        item_features: Sequence[str] | None = None,
    ) -> None:
        self.store = store
        self._fields: dict[str, dict[str, Any]] = {}
        refs: list[str] = []
        for table, wanted in ((USER, user_features), (RECENT, None), (ITEM, item_features)):
            view = store.get_feature_view(table.name)
            fields = {f.name: f.dtype for f in view.features}
            names = list(wanted) if wanted is not None else list(fields)
            unknown = sorted(set(names) - set(fields))
            if unknown:
                raise ValueError(f"{table.name} has no features {unknown}")
            self._fields[table.name] = {n: fields[n] for n in names}
            refs += [f"{table.name}:{n}" for n in names]
        self._refs = refs

    def _defaults(self, table: str) -> dict[str, Any]:
        extra = USER_DEFAULTS if table == USER.name else {}
        return {n: extra.get(n, _type_default(t)) for n, t in self._fields[table].items()}

    def read(self, user_id: str, item_ids: Sequence[str]) -> OnlineRead:
        """One online call for the shopper and ``item_ids`` (at most :data:`MAX_ITEMS`).

        Missing entities get defaults (counts 0, flags false, lists empty, rates
        unknown, a new shopper's segment and stage); ``user_known`` and ``items_known``
        say which entities the store had.
        """
        if len(item_ids) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} items per read, got {len(item_ids)}")
        rows = max(1, len(item_ids))
        response = self.store.get_online_features(
            features=self._refs,
            entity_rows={"user_id": [user_id] * rows, "item_id": list(item_ids) or [""]},
            full_feature_names=True,  # user and item views share names such as views_7d
        ).to_dict()
        user: dict[str, Any] = {}
        for table in (USER.name, RECENT.name):
            for name, default in self._defaults(table).items():
                value = response[f"{table}__{name}"][0]
                user[name] = value if value is not None else default
        user_known = any(response[f"{USER.name}__{n}"][0] is not None for n in self._fields[USER.name])
        columns = {n: response[f"{ITEM.name}__{n}"][: len(item_ids)] for n in self._fields[ITEM.name]}
        known = [any(col[i] is not None for col in columns.values()) for i in range(len(item_ids))]
        defaults = self._defaults(ITEM.name)
        items = pl.DataFrame(
            {
                "item_id": list(item_ids),
                **{n: [defaults[n] if v is None else v for v in col] for n, col in columns.items()},
            },
            strict=False,
        )
        return OnlineRead(user, items, user_known, pl.Series("known", known, pl.Boolean))
