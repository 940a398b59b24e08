"""What every loader shares: the result type, ordered drop rules and small Polars helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import polars as pl

_REASON = "__drop_reason"
_COUNT = "__count"


@dataclass(frozen=True)
class LoadResult:
    """Feed tables built from one raw data set, with an account of the rows left out.

    Attributes:
        frames: Feed name -> table in the contract's columns (not yet validated).
        source_rows: Rows read from the source (its main table).
        kept_rows: Source rows that made it into the main feed table.
        dropped: Reason -> rows dropped, in the order the rules apply; a row is counted
            once, under the first rule that removes it.
    """

    frames: dict[str, pl.DataFrame]
    source_rows: int
    kept_rows: int
    dropped: dict[str, int]


class DropRule(NamedTuple):
    """A row filter with a name: rows for which ``keep`` is not true are dropped.

    A null ``keep`` counts as not true, so a rule never lets a missing value through.
    """

    reason: str
    keep: pl.Expr


def require_file(path: Path) -> Path:
    """Return ``path``, or raise :class:`FileNotFoundError` naming it when it is absent."""
    if not path.is_file():
        raise FileNotFoundError(f"source file not found: {path}")
    return path


def apply_drop_rules(
    raw: pl.LazyFrame, rules: Sequence[DropRule]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Apply ``rules`` in order and count the rows each one removes.

    Args:
        raw: The source rows.
        rules: The rules, in the order they apply.

    Returns:
        The rows no rule removes, and ``{reason: rows dropped}`` for every rule (zeros
        included), in rule order.
    """
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for rule in reversed(rules):
        reason = pl.when(~rule.keep.fill_null(False)).then(pl.lit(rule.reason)).otherwise(reason)
    tagged = raw.with_columns(reason.alias(_REASON)).collect()
    counts = dict(
        tagged.group_by(_REASON).agg(pl.len().alias(_COUNT)).drop_nulls(_REASON).iter_rows()
    )
    dropped = {rule.reason: int(counts.get(rule.reason, 0)) for rule in rules}
    kept = tagged.filter(pl.col(_REASON).is_null()).drop(_REASON)
    return kept, dropped


def modal_value(frame: pl.LazyFrame, by: Sequence[str], value: str, alias: str) -> pl.LazyFrame:
    """The most frequent non-null ``value`` per group of ``by`` (ties: the largest value).

    Args:
        frame: Rows to count.
        by: Group columns.
        value: Column whose mode is wanted.
        alias: Name of the result column.

    Returns:
        One row per group that has a non-null ``value``: the ``by`` columns and ``alias``.
    """
    keys = list(by)
    return (
        frame.drop_nulls(value)
        .group_by([*keys, value])
        .agg(pl.len().alias(_COUNT))
        .sort([*keys, _COUNT, value], descending=[False] * len(keys) + [True, True])
        .group_by(keys, maintain_order=True)
        .first()
        .select(*keys, pl.col(value).alias(alias))
    )


def day_start_utc(day: pl.Expr) -> pl.Expr:
    """A :class:`pl.Date` expression as the UTC timestamp of that day's midnight."""
    return day.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
