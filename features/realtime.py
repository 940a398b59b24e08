"""Real-time recent activity: new events merged into each shopper's online state and
pushed through Feast's push source, readable by serving at once."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl

from features.config import RecentActivityConfig
from features.definitions import PUSH_SOURCE
from features.pipelines.daily import TIMESTAMP
from features.pipelines.recent import COLUMNS
from features.tables import RECENT
from storefront.feeds.schemas import INTERACTION_TYPES

STATE = [c for c in COLUMNS if c not in ("user_id", TIMESTAMP)]


def _merge(state: dict[str, Any], events: list[dict[str, Any]], last_n: int) -> dict[str, Any]:
    """A shopper's state after ``events`` (oldest first)."""
    viewed = list(state.get("last_viewed_items") or [])
    carted = list(state.get("last_carted_items") or [])
    session = state.get("session_id")
    views, carts = state.get("session_views") or 0, state.get("session_carts") or 0
    for event in events:
        if event["session_id"] != session:
            session, views, carts = event["session_id"], 0, 0
        if event["event_type"] == "view":
            views += 1
            viewed = [event["item_id"], *(i for i in viewed if i != event["item_id"])][:last_n]
        elif event["event_type"] == "add_to_cart":
            carts += 1
            carted = [event["item_id"], *(i for i in carted if i != event["item_id"])][:last_n]
    return {
        "last_viewed_items": viewed,
        "last_carted_items": carted,
        "session_id": session,
        "session_views": views,
        "session_carts": carts,
    }


class RecentActivity:
    """Keeps ``recent_activity`` in the online store current as events arrive.

    Args:
        store: An open ``feast.FeatureStore`` with the definitions applied.
        cfg: How many recent items to keep.
    """

    def __init__(self, store: Any, cfg: RecentActivityConfig) -> None:
        self.store, self.cfg = store, cfg

    def current(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The online state of each shopper (empty for shoppers not seen yet)."""
        response = self.store.get_online_features(
            features=[f"{RECENT.name}:{c}" for c in STATE], entity_rows={"user_id": user_ids}
        ).to_dict()
        return {u: {c: response[c][k] for c in STATE} for k, u in enumerate(user_ids)}

    def push(self, events: pl.DataFrame) -> int:
        """Merge validated events into their shoppers' states and push them online.

        Args:
            events: Rows with user_id, session_id, item_id, event_type, timestamp;
                returns are left out (sending something back is not browsing).

        Returns:
            How many shoppers were updated.
        """
        events = events.filter(pl.col("event_type").is_in(INTERACTION_TYPES))
        if events.is_empty():
            return 0
        ordered = events.sort("timestamp")
        users = ordered["user_id"].unique(maintain_order=True).to_list()
        states = self.current(users)
        rows = []
        for (user,), group in ordered.group_by("user_id", maintain_order=True):
            merged = _merge(states[user], group.to_dicts(), self.cfg.last_n_items)
            rows.append({"user_id": user, TIMESTAMP: group["timestamp"].max(), **merged})
        frame = pd.DataFrame(rows)
        frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP], utc=True)
        from feast.data_source import PushMode

        self.store.push(PUSH_SOURCE, frame, to=PushMode.ONLINE)
        return len(rows)
