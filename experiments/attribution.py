"""Outcomes → units: who was exposed to what, and what they did afterwards.

An outcome is attributed to the exposure whose ``request_id`` it carries (within the
attribution window after that answer was served); otherwise to its unit — the shopper,
session, item or time slice — within the window after the unit's first exposure. Units
seen in more than one variant (a changed definition, a bug upstream) are left out and
counted. The pre-period (``pre_period_days`` before each unit's first exposure) gives the
CUPED covariates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from experiments.config import Experiment

KEY_COLUMNS = {"shopper": "unit_id", "session": "session_id", "item": "item_id"}
"""Outcome column that identifies the unit, per unit type (time slices come from time)."""

COUNTS = ("exposures", "clicks", "views", "add_to_carts", "purchases", "quantity")
SUMS = ("revenue", "profit", "profit_known", "latency_sum", "latency_n", "errors", "errors_known")
PRE = ("pre_clicks", "pre_add_to_carts", "pre_purchases", "pre_revenue", "pre_profit")


@dataclass(frozen=True)
class Attributed:
    """An experiment's attributed data.

    Attributes:
        daily: One row per unit and UTC day with activity: counts and sums of that day.
        meta: One row per unit: variant, segment, first exposure, pre-period covariates.
        mixed_units: Units left out because they were served several variants.
        fine: As ``daily``, per unit and UTC second (column ``at``): the timeline's
            looks of a short test (``None``: only daily looks).
        latencies: One row per exposure with a logged latency: ``variant``,
            ``served_at``, ``latency_ms`` (for latency budgets; ``None``: none logged).
    """

    daily: pl.DataFrame
    meta: pl.DataFrame
    mixed_units: int
    fine: pl.DataFrame | None = None
    latencies: pl.DataFrame | None = None

    def units(self, until: dt.date | dt.datetime | None = None) -> pl.DataFrame:
        """Per-unit totals, with derived flags ``converted`` and ``added`` and the
        pre-period covariates; a cumulative look with ``until``: up to and including
        that day (a date), or before that moment (a datetime, to the second)."""
        if isinstance(until, dt.datetime) and self.fine is not None:
            daily = self.fine.filter(pl.col("at") < until)
        elif isinstance(until, dt.datetime):
            daily = self.daily.filter(pl.col("day") < until.date())
        else:
            daily = self.daily if until is None else self.daily.filter(pl.col("day") <= until)
        totals = daily.group_by("unit_id").agg(pl.col([*COUNTS, *SUMS]).sum())
        return totals.join(self.meta, on="unit_id", how="inner").with_columns(
            converted=(pl.col("purchases") > 0).cast(pl.Float64),
            added=(pl.col("add_to_carts") > 0).cast(pl.Float64),
            pre_converted=(pl.col("pre_purchases") > 0).cast(pl.Float64),
            pre_added=(pl.col("pre_add_to_carts") > 0).cast(pl.Float64),
        )

    def days(self) -> list[dt.date]:
        """The UTC days with any activity, in order."""
        return sorted(self.daily["day"].unique().to_list())

    def span(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The first and the last second with activity (exposures or attributed
        outcomes), UTC; ``None`` without data or without the per-second frame."""
        if self.fine is None or self.fine.is_empty():
            return None
        return self.fine["at"].min(), self.fine["at"].max()  # type: ignore[return-value]


def _unit_key(experiment: Experiment) -> pl.Expr:
    if experiment.unit == "time_slice":
        seconds = pl.col("occurred_at").dt.epoch("s")
        return (seconds // (60 * (experiment.slice_minutes or 1))).cast(pl.String)
    return pl.col(KEY_COLUMNS[experiment.unit])


def unit_meta(served: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Per unit: its variant, first segment and first exposure; and the count of units
    served more than one variant (left out)."""
    units = (
        served.sort("served_at")
        .group_by("unit_id")
        .agg(
            n_variants=pl.col("variant").n_unique(),
            variant=pl.col("variant").first(),
            segment=pl.col("segment").drop_nulls().first(),
            first_exposure=pl.col("served_at").first(),
        )
    )
    mixed = units.filter(pl.col("n_variants") > 1).height
    return units.filter(pl.col("n_variants") == 1).drop("n_variants"), mixed


def _linked(served: pl.DataFrame, keyed: pl.DataFrame, window: dt.timedelta) -> pl.DataFrame:
    """Outcomes carrying the request id of one of the experiment's answers."""
    requests = served.select("request_id", owner="unit_id", served=pl.col("served_at"))
    return (
        keyed.join(requests, on="request_id", how="inner")
        .filter(
            pl.col("occurred_at") >= pl.col("served"),
            pl.col("occurred_at") < pl.col("served") + window,
        )
        .with_columns(owner_id=pl.col("owner"))
        .drop("owner", "served")
    )


def _by_unit(
    served: pl.DataFrame, keyed: pl.DataFrame, meta: pl.DataFrame, window: dt.timedelta
) -> pl.DataFrame:
    """Outcomes without a known request id, matched to their unit within the window."""
    rest = keyed.join(served.select("request_id"), on="request_id", how="anti")
    return (
        rest.join(
            meta.select("unit_id", "first_exposure"), left_on="key", right_on="unit_id", how="inner"
        )
        .filter(
            pl.col("occurred_at") >= pl.col("first_exposure"),
            pl.col("occurred_at") < pl.col("first_exposure") + window,
        )
        .with_columns(owner_id=pl.col("key"))
        .drop("first_exposure")
    )


def _outcome_sums(frame: pl.DataFrame, prefix: str = "") -> list[pl.Expr]:
    kind = pl.col("event_type")
    return [
        (kind == "click").sum().alias(f"{prefix}clicks"),
        (kind == "view").sum().alias(f"{prefix}views"),
        (kind == "add_to_cart").sum().alias(f"{prefix}add_to_carts"),
        (kind == "purchase").sum().alias(f"{prefix}purchases"),
        pl.col("quantity").filter(kind == "purchase").sum().alias(f"{prefix}quantity"),
        pl.col("revenue").sum().alias(f"{prefix}revenue"),
        pl.col("profit").fill_null(0.0).sum().alias(f"{prefix}profit"),
        pl.col("profit").is_not_null().sum().alias(f"{prefix}profit_known"),
    ]


def _pre_period(keyed: pl.DataFrame, meta: pl.DataFrame, days: int) -> pl.DataFrame:
    """Per unit: its behaviour in the ``days`` before its first exposure (zeros if none)."""
    before = keyed.join(
        meta.select("unit_id", "first_exposure"), left_on="key", right_on="unit_id", how="inner"
    ).filter(
        pl.col("occurred_at") < pl.col("first_exposure"),
        pl.col("occurred_at") >= pl.col("first_exposure") - dt.timedelta(days=days),
    )
    sums = before.group_by("key").agg(_outcome_sums(before, "pre_")).rename({"key": "unit_id"})
    return meta.join(sums.select("unit_id", *PRE), on="unit_id", how="left").with_columns(
        pl.col(PRE).fill_null(0).cast(pl.Float64)
    )


def _exposure_seconds(served: pl.DataFrame) -> pl.DataFrame:
    return served.group_by("unit_id", at=pl.col("served_at").dt.truncate("1s")).agg(
        exposures=pl.len(),
        latency_sum=pl.col("latency_ms").fill_null(0.0).sum(),
        latency_n=pl.col("latency_ms").is_not_null().sum(),
        errors=pl.col("error").fill_null(False).sum(),
        errors_known=pl.col("error").is_not_null().sum(),
    )


def attribute(experiment: Experiment, served: pl.DataFrame, outcomes: pl.DataFrame) -> Attributed:
    """Attribute outcomes to the units of an experiment.

    Args:
        experiment: The definition (unit, window, pre-period).
        served: Its exposures (``ExperimentStore.exposures_frame``).
        outcomes: Candidate outcomes (``ExperimentStore.outcomes_frame``).

    Returns:
        Per-unit sums by day and by minute, per-unit metadata, exposure latencies.
    """
    window = dt.timedelta(hours=experiment.attribution_window_hours)
    meta, mixed = unit_meta(served)
    served = served.join(meta.select("unit_id"), on="unit_id", how="semi")
    keyed = outcomes.with_columns(key=_unit_key(experiment))
    kept = pl.concat(
        [_linked(served, keyed, window), _by_unit(served, keyed, meta, window)], how="vertical"
    )
    outcome_seconds = kept.group_by(
        unit_id=pl.col("owner_id"), at=pl.col("occurred_at").dt.truncate("1s")
    ).agg(_outcome_sums(kept))
    fine = (
        _exposure_seconds(served)
        .join(outcome_seconds, on=["unit_id", "at"], how="full", coalesce=True)
        .join(meta.select("unit_id"), on="unit_id", how="semi")
        .with_columns(pl.col([*COUNTS, *SUMS]).fill_null(0).cast(pl.Float64))
        .sort("at", "unit_id")
    )
    daily = (
        fine.group_by("unit_id", day=pl.col("at").dt.date())
        .agg(pl.col([*COUNTS, *SUMS]).sum())
        .sort("day", "unit_id")
    )
    latencies = served.select("variant", "served_at", "latency_ms").drop_nulls("latency_ms")
    if experiment.unit == "time_slice" or experiment.pre_period_days == 0:
        meta = meta.with_columns([pl.lit(0.0).alias(c) for c in PRE])
    else:
        meta = _pre_period(keyed, meta, experiment.pre_period_days)
    return Attributed(daily, meta, mixed, fine, latencies)
