"""Feast definitions: entities, sources and feature views of every feature table.

The feature repo folder (``features/repo``) only instantiates these; code that builds or
serves features calls :func:`feast_objects` directly with its own store folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.data_format import ParquetFormat
from feast.types import Array, Bool, FeastType, Float64, Int64, String

from features.pipelines.daily import TIMESTAMP
from features.tables import ALL_TABLES, ITEM, ITEM_SERVING, RECENT, Table

ENTITIES: dict[str, Entity] = {
    key: Entity(name=name, join_keys=[key], value_type=ValueType.STRING, description=text)
    for key, name, text in (
        ("user_id", "user", "A shopper (pseudonymous id)."),
        ("item_id", "item", "A catalogue item."),
        ("category", "category", "A catalogue category."),
        ("location_id", "location", "A store or sales channel."),
    )
}
PUSH_SOURCE = "recent_activity_push"


def feast_type(dtype: pl.DataType) -> FeastType | None:
    """The Feast type of a Polars column, or ``None`` for columns Feast does not serve."""
    if dtype == pl.List(pl.String):
        return Array(String)
    if dtype == pl.List(pl.Float64):
        return Array(Float64)
    return {pl.Int64: Int64, pl.Float64: Float64, pl.String: String, pl.Boolean: Bool}.get(
        dtype.base_type()
    )


def _schema(table: Table, store_dir: Path) -> list[Field]:
    parts = sorted(table.offline_dir(store_dir).glob("*.parquet"))
    if not parts:
        raise FileNotFoundError(
            f"feature table {table.name} has no data in {table.offline_dir(store_dir)}; "
            "run `storefront features build` first"
        )
    schema = pl.read_parquet_schema(parts[0])
    return [
        Field(name=name, dtype=kind)
        for name, dtype in schema.items()
        if name not in (*table.keys, TIMESTAMP) and (kind := feast_type(dtype)) is not None
    ]


def _tags(table: Table, store_dir: Path) -> dict[str, str]:
    """The packed serving view records which item feature each vector position holds."""
    if table is not ITEM_SERVING:
        return {}
    return {"columns": ",".join(field.name for field in _schema(ITEM, store_dir))}


def feast_objects(store_dir: Path, ttl: dt.timedelta) -> list[object]:
    """Every entity, source and feature view, reading the tables under ``store_dir``."""
    objects: list[object] = list(ENTITIES.values())
    for table in ALL_TABLES:
        if not any(table.offline_dir(store_dir).glob("*.parquet")):
            continue  # the feeds did not allow this table (e.g. a sales-only shop)
        source: FileSource | PushSource = FileSource(
            name=f"{table.name}_source",
            path=table.glob(store_dir),
            file_format=ParquetFormat(),
            timestamp_field=TIMESTAMP,
        )
        if table is RECENT:
            source = PushSource(name=PUSH_SOURCE, batch_source=source)
        objects.append(
            FeatureView(
                name=table.name,
                entities=[ENTITIES[key] for key in table.keys],
                ttl=ttl,
                online=table.online,
                source=source,
                schema=_schema(table, store_dir),
                description=table.description,
                tags=_tags(table, store_dir),
            )
        )
    return objects
