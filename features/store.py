"""Opening the Feast feature store of a shop, on embedded or scale-out engines."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import warnings
from pathlib import Path

from features.config import StoreConfig, store_dir

STATE_FILE = "state.json"
"""Build state of a store: the last day built and the folder its sources point at."""


def _utc_process() -> None:
    """DuckDB converts timestamps in the process time zone: run the store in UTC."""
    if os.environ.get("TZ") != "UTC":
        os.environ["TZ"] = "UTC"
        time.tzset()


def repo_config(data_dir: Path, cfg: StoreConfig) -> object:
    """Feast ``RepoConfig``: DuckDB offline store always; online store and registry by
    profile (SQLite + file registry embedded, Redis + SQL registry at scale)."""
    from feast import RepoConfig
    from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
    from feast.infra.online_stores.redis import RedisOnlineStoreConfig
    from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
    from feast.infra.registry.sql import SqlRegistryConfig
    from feast.repo_config import RegistryConfig

    root = store_dir(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    registry = (
        RegistryConfig(registry_type="file", path=str(root / "registry.db"), cache_ttl_seconds=60)
        if cfg.registry == "file"
        else SqlRegistryConfig(
            registry_type="sql",
            path=cfg.registry_url,
            cache_ttl_seconds=60,
            sqlalchemy_config_kwargs={"echo": False, "pool_pre_ping": True},
        )
    )
    online = (
        SqliteOnlineStoreConfig(path=str(root / "online_store.db"))
        if cfg.online_store == "sqlite"
        else RedisOnlineStoreConfig(connection_string=cfg.redis_connection_string)
    )
    return RepoConfig(
        project=cfg.project,
        provider="local",
        registry=registry,
        offline_store=DuckDBOfflineStoreConfig(),
        online_store=online,
        entity_key_serialization_version=3,
        repo_path=root,
    )


def open_store(data_dir: Path, cfg: StoreConfig) -> object:
    """The shop's ``feast.FeatureStore`` (Feast is imported here: it takes seconds)."""
    _utc_process()
    warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")
    logging.getLogger("feast").setLevel(logging.WARNING)  # it logs every registry refresh
    from feast import FeatureStore

    store = FeatureStore(config=repo_config(data_dir, cfg))
    _follow_relocation(store, store_dir(data_dir).resolve(), cfg)
    return store


def _follow_relocation(store: object, root: Path, cfg: StoreConfig) -> None:
    """Re-register the offline sources of a store whose folder moved.

    Feast keeps each source's absolute path in the registry; a shop folder moved into
    the current layout (or copied elsewhere) would point its point-in-time joins at the
    old place. The build state records the folder it was registered from.
    """
    path = root / STATE_FILE
    if not path.exists():
        return
    state = json.loads(path.read_text())
    if state.get("root") == str(root):
        return
    from features.definitions import feast_objects

    logging.getLogger(__name__).info("feature store moved to %s: re-registering sources", root)
    store.apply(feast_objects(root, ttl(cfg)))  # type: ignore[attr-defined]
    state["root"] = str(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def ttl(cfg: StoreConfig) -> dt.timedelta:
    """How far back point-in-time joins look."""
    return dt.timedelta(days=cfg.ttl_days)


def built_through(data_dir: Path, cfg: StoreConfig) -> dt.date | None:
    """The last day the shop's feature store has built (``None``: never built)."""
    path = store_dir(data_dir) / STATE_FILE
    if not path.is_file():
        return None
    day = json.loads(path.read_text()).get("built_through")
    return dt.date.fromisoformat(day) if day else None
