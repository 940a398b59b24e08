"""Feast repository: the shop's definitions for the ``feast`` CLI (definitions only).

``feast apply`` imports every ``.py`` in this folder; this one exposes the entities,
sources and feature views of :func:`features.definitions.feast_objects` for the store
named by ``$STOREFRONT_FEATURE_STORE``, else the feature store of the shop folder
``$STOREFRONT_DATA_DIR`` (default ``data/shop``).
"""

import os
from pathlib import Path

from features.config import FeatureConfig, store_dir
from features.definitions import feast_objects
from features.store import ttl
from storefront.config import default_data_dir

_given = os.environ.get("STOREFRONT_FEATURE_STORE")
_store = Path(_given).resolve() if _given else store_dir(default_data_dir())
globals().update(
    {obj.name: obj for obj in feast_objects(_store, ttl(FeatureConfig().store))}  # type: ignore[attr-defined]
)
