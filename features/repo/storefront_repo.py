"""Feast repository: the shop's definitions for the ``feast`` CLI (definitions only).

``feast apply`` imports every ``.py`` in this folder; this one exposes the entities,
sources and feature views of :func:`features.definitions.feast_objects` for the store
named by ``$STOREFRONT_FEATURE_STORE`` (``<data-dir>/feature_store``).
"""

import os
from pathlib import Path

from features.config import FeatureConfig
from features.definitions import feast_objects
from features.store import ttl

_store = Path(os.environ.get("STOREFRONT_FEATURE_STORE", "data/feeds/feature_store")).resolve()
globals().update(
    {obj.name: obj for obj in feast_objects(_store, ttl(FeatureConfig().store))}  # type: ignore[attr-defined]
)
