"""Polars feature pipelines: feeds in, feature tables out.

Every table has an ``event_timestamp`` column: the UTC moment its row becomes valid
(known). Daily snapshots computed from the events of day ``d`` are stamped at the end of
that day (``d + 1`` at 00:00 UTC), so a point-in-time join at any moment only sees rows
built from events strictly before it.
"""
