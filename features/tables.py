"""The feature tables: what each holds, its keys, and where it lives offline.

One :class:`Table` per Feast feature view. Pipelines produce the columns; the Feast
definitions (:mod:`features.definitions`) read the keys and files from here, and the
schema from the written parquet, so each column is declared once, by its pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Table:
    """A feature table (one Feast feature view).

    Attributes:
        name: Feature view name (and offline folder name).
        keys: Join keys, each an entity (``user_id``, ``item_id``, ``category``,
            ``location_id``).
        description: What a row says.
        online: Whether it is materialized to the online store.
    """

    name: str
    keys: tuple[str, ...]
    description: str
    online: bool = True

    def offline_dir(self, store_dir: Path) -> Path:
        """Folder of this table's parquet parts (one part per incremental build)."""
        return Path(store_dir) / "offline" / self.name

    def glob(self, store_dir: Path) -> str:
        """Absolute glob of the table's parts, as the Feast file source reads them."""
        return str(self.offline_dir(store_dir).resolve() / "*.parquet")


USER = Table("user_features", ("user_id",), "Daily shopper snapshot: RFM, lifecycle, windows.")
ITEM = Table(
    "item_features",
    ("item_id",),
    "Daily item snapshot: demand, price, margin, stock (online as item_serving).",
    online=False,
)
USER_CATEGORY = Table(
    "user_category_interest",
    ("user_id", "category"),
    "Decayed interest of a shopper in a category (log2, origin units).",
)
ITEM_SERVING = Table(
    "item_serving",
    ("item_id",),
    "The item features packed into one vector, for fast online reads (columns in tags).",
)
DEMAND = Table(
    "demand",
    ("item_id", "location_id"),
    "Item x location x period demand with price, promotion, calendar, lags; censored flag.",
)
RECENT = Table(
    "recent_activity",
    ("user_id",),
    "Real-time: the shopper's last viewed and carted items and current session counts.",
)

BATCH_TABLES: tuple[Table, ...] = (USER, ITEM, ITEM_SERVING, USER_CATEGORY, DEMAND)
"""Tables built by ``storefront features build``."""
ALL_TABLES: tuple[Table, ...] = (*BATCH_TABLES, RECENT)
