"""Validation of feed tables against the contract.

A table is accepted whole or refused whole: the first rule it breaks raises
:class:`FeedValidationError`, which names the file, the row (0-based position in the
file) and the column, and counts how many rows break the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import polars as pl

from storefront.feeds.schemas import SCHEMAS, Column, FeedSchema, Kind


class FeedValidationError(ValueError):
    """A feed breaks the contract; nothing from it is used or written.

    Attributes:
        file: The feed file (e.g. ``events.parquet``).
        column: The offending column, when the problem is in one column.
        row: 0-based position of the first offending row, when a row is at fault.
        reason: What is wrong, in words.
        n_rows: How many rows break the same rule.
    """

    def __init__(
        self,
        file: str,
        reason: str,
        column: str | None = None,
        row: int | None = None,
        n_rows: int | None = None,
    ) -> None:
        self.file, self.reason, self.column, self.row, self.n_rows = (
            file,
            reason,
            column,
            row,
            n_rows,
        )
        where = [file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        count = f" ({n_rows} rows affected)" if n_rows and n_rows > 1 else ""
        super().__init__(f"{', '.join(where)}: {reason}{count}")


log = logging.getLogger(__name__)

_INTEGER = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_FLOAT = (pl.Float32, pl.Float64)


def _first_row(df: pl.DataFrame, mask: pl.Expr) -> tuple[int, int] | None:
    """Position of the first row where ``mask`` holds, and how many rows it holds for."""
    hits = df.select(mask.fill_null(False).arg_true().alias("row"))["row"]
    if hits.is_empty():
        return None
    return int(hits[0]), hits.len()


def _coerce_column(df: pl.DataFrame, col: Column, file: str) -> pl.Expr:
    """Expression casting ``col`` to its canonical dtype, or raise if the type is wrong."""
    dtype = df.schema[col.name]
    expr = pl.col(col.name)
    target = col.kind.dtype
    if dtype == pl.Null:  # an all-null column has no type of its own
        return expr.cast(target)
    ok = {
        Kind.STR: isinstance(dtype, pl.String | pl.Categorical | pl.Enum),
        Kind.INT: isinstance(dtype, _INTEGER),
        Kind.FLOAT: isinstance(dtype, _INTEGER + _FLOAT),
        Kind.BOOL: isinstance(dtype, pl.Boolean),
        Kind.DATETIME: isinstance(dtype, pl.Datetime) and dtype.time_zone is not None,
        Kind.DATE: isinstance(dtype, pl.Date),
    }[col.kind]
    if (lossless := _lossless_cast(df, col, file)) is not None:
        return lossless
    if ok:
        if col.kind is Kind.DATETIME:
            return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        return expr.cast(target)
    if col.kind is Kind.DATETIME and isinstance(dtype, pl.Datetime):
        first = _first_row(df, pl.col(col.name).is_not_null())
        raise FeedValidationError(
            file,
            "naive timestamp (no time zone); feeds need timezone-aware UTC timestamps",
            column=col.name,
            row=first[0] if first else 0,
        )
    reason = f"wrong type {dtype}, expected {col.kind.value}"
    bad = _lossy_values(df, col)
    if bad is not None:
        reason += f" (e.g. value {df[col.name][bad[0]]!r}; a cast would lose information)"
    if dtype == pl.String and col.kind in (Kind.INT, Kind.FLOAT):
        bad = _first_row(df, expr.is_not_null() & expr.cast(target, strict=False).is_null())
        if bad is not None:
            value = df[col.name][bad[0]]
            reason = f"value {value!r} is not a {col.kind.value} (column has type {dtype})"
    raise FeedValidationError(
        file, reason, column=col.name, row=bad[0] if bad else None, n_rows=bad[1] if bad else None
    )


def _not_a_flag(expr: pl.Expr) -> pl.Expr:
    """True where a numeric value is neither 0 nor 1 (null where it is null)."""
    return (expr != 0) & (expr != 1)


def _lossy_values(df: pl.DataFrame, col: Column) -> tuple[int, int] | None:
    """Where a numeric id or flag column could not be cast losslessly (first row, count):
    any value of a float id, a flag value outside {0, 1}."""
    dtype = df.schema[col.name]
    expr = pl.col(col.name)
    if col.kind is Kind.STR and isinstance(dtype, _FLOAT):
        return _first_row(df, expr.is_not_null())
    if col.kind is Kind.BOOL and isinstance(dtype, _INTEGER + _FLOAT):
        return _first_row(df, _not_a_flag(expr))
    return None


def _lossless_cast(df: pl.DataFrame, col: Column, file: str) -> pl.Expr | None:
    """Cast that loses nothing, logged: integer ids to strings, 0/1 flags to booleans.

    Returns:
        The casting expression, or ``None`` when no lossless cast applies (the caller then
        accepts the column as it is or refuses it).
    """
    dtype = df.schema[col.name]
    expr = pl.col(col.name)
    if col.kind is Kind.STR and isinstance(dtype, _INTEGER):
        cast = expr.cast(pl.String)
    elif (
        col.kind is Kind.BOOL
        and isinstance(dtype, _INTEGER + _FLOAT)
        and _first_row(df, _not_a_flag(expr)) is None
    ):
        cast = expr.cast(pl.Int8).cast(pl.Boolean)
    else:
        return None
    log.info("%s, column '%s': cast %s to %s (lossless)", file, col.name, dtype, col.kind.value)
    return cast


def _check_columns(df: pl.DataFrame, schema: FeedSchema, file: str) -> None:
    missing = [c.name for c in schema.columns if c.required and c.name not in df.columns]
    if missing:
        raise FeedValidationError(file, "missing required column", column=missing[0])
    unknown = [name for name in df.columns if name not in schema.column_names]
    if unknown:
        raise FeedValidationError(
            file,
            f"unknown column (allowed: {', '.join(schema.column_names)})",
            column=unknown[0],
        )


def _check_values(df: pl.DataFrame, col: Column, file: str) -> None:
    expr = pl.col(col.name)
    if not col.nullable and (bad := _first_row(df, expr.is_null())):
        raise FeedValidationError(file, "missing value", column=col.name, row=bad[0], n_rows=bad[1])
    if col.minimum is not None:
        breaks = expr <= col.minimum if col.strict_minimum else expr < col.minimum
        if bad := _first_row(df, breaks):
            bound = f"> {col.minimum:g}" if col.strict_minimum else f">= {col.minimum:g}"
            raise FeedValidationError(
                file,
                f"value {df[col.name][bad[0]]!r} breaks the rule {col.name} {bound}",
                column=col.name,
                row=bad[0],
                n_rows=bad[1],
            )
    if col.max_length is not None and (
        bad := _first_row(df, expr.str.len_chars() > col.max_length)
    ):
        raise FeedValidationError(
            file,
            f"value of {df[col.name].str.len_chars()[bad[0]]} characters is longer than "
            f"{col.max_length}",
            column=col.name,
            row=bad[0],
            n_rows=bad[1],
        )
    if col.allowed is not None and (bad := _first_row(df, ~expr.is_in(list(col.allowed)))):
        raise FeedValidationError(
            file,
            f"unknown value {df[col.name][bad[0]]!r} (allowed: {', '.join(col.allowed)})",
            column=col.name,
            row=bad[0],
            n_rows=bad[1],
        )


def _check_key(df: pl.DataFrame, schema: FeedSchema, file: str) -> None:
    key = pl.struct(list(schema.key)) if len(schema.key) > 1 else pl.col(schema.key[0])
    if bad := _first_row(df, ~key.is_first_distinct()):
        values = ", ".join(f"{k}={df[k][bad[0]]!r}" for k in schema.key)
        raise FeedValidationError(
            file,
            f"duplicate key ({values}); each ({', '.join(schema.key)}) may appear once",
            column=schema.key[0] if len(schema.key) == 1 else None,
            row=bad[0],
            n_rows=bad[1],
        )


def validate_frame(schema: FeedSchema, df: pl.DataFrame, file: str | None = None) -> pl.DataFrame:
    """Check one table against its schema and return it in canonical form.

    Args:
        schema: The feed's schema.
        df: The table as read or produced.
        file: Name used in errors; defaults to the schema's file name.

    Returns:
        The table with canonical dtypes (UTC microsecond timestamps, Int64, Float64) and
        columns in schema order.

    Raises:
        FeedValidationError: The first broken rule, naming file, row and column.
    """
    file = file or schema.file_name
    _check_columns(df, schema, file)
    present = [c for c in schema.columns if c.name in df.columns]
    df = df.select([_coerce_column(df, c, file).alias(c.name) for c in present])
    for col in present:
        _check_values(df, col, file)
    _check_key(df, schema, file)
    return df


def check_catalog_references(frames: Mapping[str, pl.DataFrame]) -> None:
    """Refuse rows whose ``item_id`` is not in the catalog (when a catalog is given)."""
    catalog = frames.get("catalog")
    if catalog is None:
        return
    known = catalog["item_id"].implode()
    for name, df in frames.items():
        if not SCHEMAS[name].references_catalog:
            continue
        if bad := _first_row(df, ~pl.col("item_id").is_in(known)):
            raise FeedValidationError(
                SCHEMAS[name].file_name,
                f"item {df['item_id'][bad[0]]!r} is not in the catalog",
                column="item_id",
                row=bad[0],
                n_rows=bad[1],
            )


def validate_feeds(frames: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Validate a set of feed tables, each on its own and against the catalog.

    Args:
        frames: Tables by feed name (``events``, ``catalog``, ...); any subset.

    Returns:
        The tables in canonical form, by feed name.

    Raises:
        FeedValidationError: Unknown feed name or the first broken rule.
    """
    unknown = sorted(set(frames) - set(SCHEMAS))
    if unknown:
        raise FeedValidationError(f"{unknown[0]}.parquet", f"unknown feed (known: {list(SCHEMAS)})")
    clean = {name: validate_frame(SCHEMAS[name], df) for name, df in frames.items()}
    check_catalog_references(clean)
    return clean
