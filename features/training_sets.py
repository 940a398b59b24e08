"""Point-in-time-correct training sets through Feast's ``get_historical_features``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from features.pipelines.daily import TIMESTAMP

ROW = "__row"


def feature_refs(store: Any, wanted: Sequence[str]) -> list[str]:
    """Expand ``view`` (every feature of it) and ``view:feature`` names into references."""
    refs: list[str] = []
    for name in wanted:
        if ":" in name:
            refs.append(name)
        else:
            view = store.get_feature_view(name)
            refs += [f"{view.name}:{f.name}" for f in view.features]
    return refs


def training_set(store: Any, entity_rows: pl.DataFrame, features: Sequence[str]) -> pl.DataFrame:
    """Join features to entity rows as of each row's ``event_timestamp``.

    Args:
        store: An open ``feast.FeatureStore``.
        entity_rows: Join keys of the requested views, ``event_timestamp`` (UTC) and any
            other columns (labels), which pass through.
        features: View names and/or ``view:feature`` references.

    Returns:
        ``entity_rows`` in their order, with one column per feature; a feature is null
        where no row of its view was valid at the row's time (never a later value).

    Raises:
        ValueError: ``event_timestamp`` is missing or not timezone-aware.
    """
    dtype = entity_rows.schema.get(TIMESTAMP)
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
        raise ValueError(f"entity rows need a timezone-aware '{TIMESTAMP}' column, got {dtype}")
    frame = entity_rows.with_columns(pl.col(TIMESTAMP).dt.convert_time_zone("UTC")).with_row_index(
        ROW
    )
    job = store.get_historical_features(
        entity_df=frame.to_pandas(), features=feature_refs(store, features)
    )
    result = pl.from_arrow(job.to_arrow())
    return result.sort(ROW).drop(ROW)
