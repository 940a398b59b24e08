"""Published prices: what serving answers, and the audit of who approved each one.

Every publication appends rows to ``<data_dir>/pricing/published.parquet`` (never
rewrites history): item, price, the "was" price (lowest of the last 30 days), the
guardrail reasons, the moment it takes effect, the proposal it came from, who or what
approved it and when. The current price of an item is its latest published row.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import polars as pl

PRICING_DIR = "pricing"
PUBLISHED_FILE = "published.parquet"
SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "price": pl.Float64(),
    "was_price": pl.Float64(),
    "reasons": pl.List(pl.String()),
    "valid_from": pl.Datetime("us", "UTC"),
    "proposal_id": pl.String(),
    "approved_by": pl.String(),
    "approved_at": pl.Datetime("us", "UTC"),
}


def pricing_dir(data_dir: Path) -> Path:
    """Where proposals, estimates and published prices of a shop live."""
    return Path(data_dir) / PRICING_DIR


def price_history(data_dir: Path) -> pl.DataFrame:
    """Every published price, oldest first (empty with :data:`SCHEMA` when none)."""
    path = pricing_dir(data_dir) / PUBLISHED_FILE
    if not path.exists():
        return pl.DataFrame(schema=SCHEMA)
    return pl.read_parquet(path)


def current_prices(data_dir: Path) -> pl.DataFrame:
    """The latest published price of every item that has one."""
    history = price_history(data_dir)
    return history.sort("approved_at", maintain_order=True).group_by("item_id").last()


def publish(
    prices: pl.DataFrame,
    data_dir: Path,
    proposal_id: str,
    approved_by: str,
    now: dt.datetime | None = None,
    valid_from: dt.datetime | None = None,
) -> int:
    """Append ``prices`` (item_id, price, was_price, reasons) to the published history.

    Args:
        prices: One row per item to publish.
        data_dir: The shop's feed directory.
        proposal_id: The proposal the prices come from.
        approved_by: The person, or ``auto:<rule>``, who signed them off.
        now: Publication time (UTC); default now.
        valid_from: When the prices take effect (UTC); default ``now``.

    Returns:
        The number of prices published.

    Raises:
        ValueError: No approver named, or a price that is not positive.
    """
    if not approved_by.strip():
        raise ValueError("approved_by: name who approves the prices")
    if prices.filter(pl.col("price") <= 0).height:
        raise ValueError("price: every published price must be positive")
    stamp = now or dt.datetime.now(dt.UTC)
    rows = prices.select(
        pl.col("item_id").cast(pl.String),
        pl.col("price").cast(pl.Float64),
        pl.col("was_price").cast(pl.Float64),
        pl.col("reasons").cast(pl.List(pl.String)),
        valid_from=pl.lit(valid_from or stamp).cast(SCHEMA["valid_from"]),
        proposal_id=pl.lit(proposal_id, pl.String),
        approved_by=pl.lit(approved_by, pl.String),
        approved_at=pl.lit(stamp).cast(SCHEMA["approved_at"]),
    )
    history = pl.concat([price_history(data_dir), rows])
    folder = pricing_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, suffix=".parquet.tmp")
    os.close(handle)
    history.write_parquet(tmp)
    os.replace(tmp, folder / PUBLISHED_FILE)
    return rows.height
