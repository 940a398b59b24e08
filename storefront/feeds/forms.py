"""The other forms of a feed schema, derived from it (so the contract stays written once).

A :class:`~storefront.feeds.schemas.FeedSchema` is the contract; the service needs it as
a pydantic model (a request body), as SQLAlchemy columns (a table) and as a Polars schema
(a frame). Each form is built from the schema here, so a column added to the schema, or a
value added to a column's ``allowed`` values, reaches every form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import polars as pl
import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, create_model

from storefront.feeds.schemas import Column, FeedSchema, Kind

_PYTHON_TYPES: dict[Kind, Any] = {
    Kind.INT: int,
    Kind.FLOAT: float,
    Kind.BOOL: bool,
    Kind.DATETIME: AwareDatetime,
    Kind.DATE: dt.date,
}


def polars_schema(schema: FeedSchema) -> dict[str, pl.DataType]:
    """The Polars schema of a validated frame of this feed (every column, in order).

    Args:
        schema: The feed's schema.

    Returns:
        Column name -> canonical dtype (:attr:`Kind.dtype`), as
        :func:`~storefront.feeds.validate.validate_frame` returns them.
    """
    return {c.name: c.kind.dtype for c in schema.columns}


def _bound(value: float) -> float | int:
    """A bound as written in the schema (an integral bound stays an integer)."""
    return int(value) if float(value).is_integer() else value


def _annotation(col: Column, str_type: Any) -> Any:
    """The Python type of one column's values (``None`` not included)."""
    if col.allowed is not None:
        return Literal[col.allowed]  # Literal[("a", "b")] is Literal["a", "b"]
    if col.kind is Kind.STR and col.max_length is not None:
        # the column's own bound replaces the one of ``str_type`` (its other rules stay)
        return Annotated[str_type, StringConstraints(max_length=col.max_length)]
    if col.kind is Kind.STR:
        return str_type
    return _PYTHON_TYPES[col.kind]


def pydantic_model(
    schema: FeedSchema,
    name: str,
    *,
    base: type[BaseModel] = BaseModel,
    str_type: Any = str,
    defaults: Mapping[str, Any] | None = None,
    descriptions: Mapping[str, str] | None = None,
    doc: str | None = None,
    module: str | None = None,
) -> type[BaseModel]:
    """A pydantic model of one row of the feed (e.g. a request body), with its rules.

    Strings take ``str_type`` (e.g. a length-bounded id type; a column's ``max_length``
    replaces that type's bound), categorical columns a
    ``Literal`` of their allowed values, ``minimum`` becomes ``ge`` (``gt`` when
    ``strict_minimum``), datetimes must be timezone-aware (``AwareDatetime``). Nullable
    and non-required columns are ``X | None`` with default ``None``.

    Args:
        schema: The feed's schema.
        name: Class name of the model.
        base: Base class (e.g. one that refuses unknown fields).
        str_type: Type of string columns that have no allowed values.
        defaults: Column name -> default value; such a column may be left out.
        descriptions: Column name -> description, replacing the column's own.
        doc: The model's docstring (its description in a JSON schema).
        module: The module the model is said to be defined in (default this one).

    Returns:
        The model class, its fields in the schema's column order.

    Raises:
        ValueError: ``defaults`` or ``descriptions`` names a column the schema lacks.
    """
    defaults, descriptions = dict(defaults or {}), dict(descriptions or {})
    stray = sorted((set(defaults) | set(descriptions)) - set(schema.column_names))
    if stray:
        raise ValueError(f"no such column in {schema.name}: {', '.join(stray)}")
    fields: dict[str, Any] = {}
    for col in schema.columns:
        annotation = _annotation(col, str_type)
        rules: dict[str, Any] = {}
        if col.minimum is not None:
            rules["gt" if col.strict_minimum else "ge"] = _bound(col.minimum)
        description = descriptions.get(col.name, col.description)
        if description is not None:
            rules["description"] = description
        if col.nullable or not col.required:
            annotation = annotation | None
            rules["default"] = None
        if col.name in defaults:
            rules["default"] = defaults[col.name]
        fields[col.name] = (annotation, Field(**rules))
    model: type[BaseModel] = create_model(
        name, __base__=base, __doc__=doc, __module__=module or __name__, **fields
    )
    return model


def sqlalchemy_columns(
    schema: FeedSchema,
    *,
    str_length: int = 128,
    str_lengths: Mapping[str, int] | None = None,
    big_integers: bool = False,
) -> list[sa.Column[Any]]:
    """SQLAlchemy columns of a table holding the feed's rows (every column, in order).

    Nullability follows the schema; the schema's key columns make the primary key. A
    string column's ``max_length`` is its length unless ``str_lengths`` names it.

    Args:
        schema: The feed's schema.
        str_length: Length of string columns (``VARCHAR(n)``).
        str_lengths: Column name -> length, replacing ``str_length`` for that column.
        big_integers: ``BigInteger`` for integer columns (default ``Integer``).

    Returns:
        New, unattached columns (pass them to ``sa.Table``).

    Raises:
        ValueError: ``str_lengths`` names a column the schema lacks, or an allowed value
            is longer than its column.
    """
    lengths = dict(str_lengths or {})
    stray = sorted(set(lengths) - set(schema.column_names))
    if stray:
        raise ValueError(f"no such column in {schema.name}: {', '.join(stray)}")
    columns: list[sa.Column[Any]] = []
    for col in schema.columns:
        sql_type: sa.types.TypeEngine[Any]
        if col.kind is Kind.STR:
            length = lengths.get(col.name, col.max_length or str_length)
            too_long = [v for v in col.allowed or () if len(v) > length]
            if too_long:
                raise ValueError(f"{col.name}: {too_long[0]!r} is longer than {length}")
            sql_type = sa.String(length)
        elif col.kind is Kind.INT:
            sql_type = sa.BigInteger() if big_integers else sa.Integer()
        elif col.kind is Kind.FLOAT:
            sql_type = sa.Float()
        elif col.kind is Kind.BOOL:
            sql_type = sa.Boolean()
        elif col.kind is Kind.DATETIME:
            sql_type = sa.DateTime(timezone=True)
        elif col.kind is Kind.DATE:
            sql_type = sa.Date()
        else:  # pragma: no cover - a new Kind needs its SQL type here
            raise ValueError(f"{col.name}: no SQL type for kind {col.kind!r}")
        key = col.name in schema.key
        columns.append(
            sa.Column(col.name, sql_type, primary_key=key, nullable=col.nullable and not key)
        )
    return columns


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def with_optional(frame: Frame, schema: FeedSchema, *names: str) -> Frame:
    """``frame`` with the optional columns ``names`` it lacks added as typed nulls.

    An absent nullable column means "unknown for every row" (e.g. a catalogue without
    ``unit_cost``), so code that reads it can treat both alike.

    Args:
        frame: A validated feed frame (eager or lazy).
        schema: The feed's schema.
        *names: Optional, nullable columns of the schema.
    """
    present = frame.collect_schema().names()
    return frame.with_columns(
        pl.lit(None, schema.column(name).kind.dtype).alias(name)
        for name in names
        if name not in present
    )
