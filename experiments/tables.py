"""The experiment store's schema (SQLAlchemy Core): one definition for SQLite and Postgres.

Timestamps are stored as naive UTC (every writer converts to UTC first), so SQLite and
Postgres hold the same values.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("definition", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("stopped_at", DateTime, nullable=True),
)

exposures = Table(
    "exposures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(200), nullable=False),
    Column("experiment", String(200), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("surface", String(32), nullable=False),
    Column("items", Text, nullable=False),
    Column("prices", Text, nullable=True),
    Column("segment", String(200), nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("error", Boolean, nullable=True),
    Column("served_at", DateTime, nullable=False),
    UniqueConstraint("request_id", "experiment", name="uq_exposure_request_experiment"),
    Index("ix_exposures_experiment_unit", "experiment", "unit_id"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("request_id", String(200), nullable=True, index=True),
    Column("unit_id", String(200), nullable=False, index=True),
    Column("session_id", String(200), nullable=True),
    Column("event_type", String(16), nullable=False),
    Column("item_id", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("revenue", Float, nullable=False),
    Column("profit", Float, nullable=True),
    Column("occurred_at", DateTime, nullable=False, index=True),
)
