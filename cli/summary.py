"""Human-readable summaries of a shop's feeds (printed by the commands that read them)."""

from __future__ import annotations

import polars as pl
from rich.table import Table

from storefront.feeds import SCHEMAS, Feeds

_TIME_COLUMN = {
    "events": "timestamp",
    "catalog": "created_at",
    "inventory": "timestamp",
    "prices": "valid_from",
    "sales": "period_start",
}


def feed_overview(feeds: Feeds) -> pl.DataFrame:
    """One row per present feed: rows, columns, time span and its main entity counts."""
    rows = []
    for name, table in feeds.present().items():
        time = table[_TIME_COLUMN[name]]
        rows.append(
            {
                "feed": SCHEMAS[name].file_name,
                "rows": table.height,
                "items": table["item_id"].n_unique(),
                "from": str(time.min())[:16] if table.height else "",
                "to": str(time.max())[:16] if table.height else "",
            }
        )
    return pl.DataFrame(rows)


def event_breakdown(events: pl.DataFrame) -> dict[str, int]:
    """Counts of shoppers, sessions and events by type."""
    counts = dict(events["event_type"].value_counts().iter_rows())
    return {
        "shoppers": events["user_id"].n_unique(),
        "sessions": events["session_id"].n_unique(),
        **{
            f"{kind} events": int(counts.get(kind, 0))
            for kind in ("view", "add_to_cart", "purchase")
        },
    }


def summary_tables(feeds: Feeds) -> list[Table]:
    """Rich tables describing ``feeds``, ready to print."""
    overview = feed_overview(feeds)
    table = Table(title="Feeds", title_justify="left")
    for column in overview.columns:
        table.add_column(column, justify="right" if column in ("rows", "items") else "left")
    for row in overview.iter_rows():
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    tables = [table]
    if feeds.events is not None:
        behaviour = Table(title="Behaviour", title_justify="left")
        behaviour.add_column("what")
        behaviour.add_column("count", justify="right")
        for what, count in event_breakdown(feeds.events).items():
            behaviour.add_row(what, f"{count:,}")
        tables.append(behaviour)
    return tables
