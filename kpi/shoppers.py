"""Shopper behaviour: the funnel, lifecycle stages and the win-back list, new against
returning buyers, and the RFM segments the breakdowns use.

Segments, lifecycle stages and price sensitivity are the feature store's own
(:func:`features.pipelines.user.user_features`, with the shop's ``configs/features.yaml``
thresholds and segment rules), computed here from the combined events (feed and
service) so that they agree with the figures beside them. A shopper's snapshot *on* a
day is the one built from everything up to the end of that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl

from features.config import UserFeatureConfig
from features.pipelines.user import user_features
from kpi.figures import COUNTS, ratio, summarise, with_previous
from kpi.periods import Period
from kpi.sources import contract_events

STAGES = ("new", "active", "at_risk", "dormant")
"""Lifecycle stages, in order (:func:`features.pipelines.user._lifecycle`)."""
FUNNEL = (("view", "Viewed an item"), ("add_to_cart", "Added to cart"), ("purchase", "Bought"))
SNAPSHOT = (
    "user_id",
    "day",
    "rfm_segment",
    "lifecycle_stage",
    "paid_to_base_ratio",
    "event_timestamp",
)


def snapshots(
    events: pl.DataFrame, catalog: pl.DataFrame, days: Iterable[dt.date], cfg: UserFeatureConfig
) -> pl.DataFrame:
    """Every shopper's feature snapshot on each of ``days`` (shoppers seen by then).

    Args:
        events: Events (feed and service), any extra columns ignored.
        catalog: The catalog (``base_price`` for price sensitivity).
        days: The days wanted.
        cfg: The user features' thresholds and segment rules.

    Returns:
        ``user_id``, ``day``, ``rfm_segment``, ``lifecycle_stage``,
        ``paid_to_base_ratio``, ``event_timestamp`` (the snapshot's valid-from moment).
    """
    wanted = sorted(set(days))
    last = wanted[-1]
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    upto = contract_events(events.filter(pl.col("timestamp") < end))
    if upto.height == 0:
        return pl.DataFrame(
            schema={
                "user_id": pl.String,
                "day": pl.Date,
                "rfm_segment": pl.String,
                "lifecycle_stage": pl.String,
                "paid_to_base_ratio": pl.Float64,
                "event_timestamp": pl.Datetime("us", "UTC"),
            }
        )
    no_profile = pl.DataFrame(schema={"user_id": pl.String, "day": pl.Date})
    users = user_features(upto.lazy(), catalog.lazy(), no_profile, last, cfg)
    return (
        users.with_columns(day=(pl.col("event_timestamp") - pl.duration(days=1)).dt.date())
        .filter(pl.col("day").is_in(wanted))
        .select(SNAPSHOT)
    )


def segments_on(snaps: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """``user_id``, ``rfm_segment`` of the shoppers' snapshots on ``day``."""
    return snaps.filter(pl.col("day") == day).select("user_id", "rfm_segment")


def funnel(events: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Sessions at each step of view → add to cart → purchase, in the period and the
    previous one.

    - **sessions** at a step = sessions with at least one event of that type (a session
      may buy without a logged view, so the steps need not nest);
    - **share** = sessions at the step / sessions with any shopping event;
    - **step rate** = sessions at the step / sessions at the step before (the first
      step: its share).

    Args:
        events: Prepared events covering both periods.
        period: The current period.
    """
    rows = []
    for part in (period, period.previous()):
        mine = events.filter(part.contains(pl.col("timestamp")))
        total = summarise(mine)["sessions"][0]
        counts = {
            kind: mine.filter(pl.col("event_type") == kind)["session_id"].n_unique()
            for kind, _ in FUNNEL
        }
        rows.append({"total": total, **counts})
    now, before = rows
    frame = pl.DataFrame(
        {
            "step": [k for k, _ in FUNNEL],
            "label": [label for _, label in FUNNEL],
            "sessions": [now[k] for k, _ in FUNNEL],
            "sessions_previous": [before[k] for k, _ in FUNNEL],
            "_total": [now["total"]] * len(FUNNEL),
            "_total_previous": [before["total"]] * len(FUNNEL),
        },
        schema_overrides={"sessions": pl.Int64, "sessions_previous": pl.Int64},
    )
    return frame.with_columns(
        share=ratio("sessions", "_total"),
        share_previous=ratio("sessions_previous", "_total_previous"),
        step_rate=ratio("sessions", pl.col("sessions").shift(1).fill_null(pl.col("_total"))),
        step_rate_previous=ratio(
            "sessions_previous",
            pl.col("sessions_previous").shift(1).fill_null(pl.col("_total_previous")),
        ),
    ).drop("_total", "_total_previous")


def lifecycle(snaps: pl.DataFrame, period: Period, win_back_stages: Sequence[str]) -> pl.DataFrame:
    """Shoppers per lifecycle stage at the end of the period and of the previous one,
    and whether the stage is on the win-back list (``win_back_stages``, the stages
    ``/user_profile`` tags ``win_back``).

    Args:
        snaps: :func:`snapshots` on ``period.until`` and ``period.previous().until``.
        period: The current period.
        win_back_stages: The service's ``profile.win_back_stages``.
    """

    def counts(day: dt.date) -> dict[str, int]:
        found = snaps.filter(pl.col("day") == day)["lifecycle_stage"].value_counts()
        return dict(zip(found["lifecycle_stage"], found["count"], strict=True))

    now, before = counts(period.until), counts(period.previous().until)
    stages = [*STAGES, *sorted((set(now) | set(before)) - set(STAGES))]
    return pl.DataFrame(
        {
            "stage": stages,
            "shoppers": [now.get(s, 0) for s in stages],
            "shoppers_previous": [before.get(s, 0) for s in stages],
            "win_back": [s in win_back_stages for s in stages],
        },
        schema_overrides={"shoppers": pl.Int64, "shoppers_previous": pl.Int64},
    )


def win_back(stages: pl.DataFrame) -> dict[str, int]:
    """The win-back list's size (shoppers in a win-back stage) at the end of the period
    (``current``) and of the previous one (``previous``)."""
    listed = stages.filter(pl.col("win_back"))
    return {
        "current": int(listed["shoppers"].sum()),
        "previous": int(listed["shoppers_previous"].sum()),
    }


def new_vs_returning(events: pl.DataFrame, period: Period) -> pl.DataFrame:
    """The period's buyers split by whether they had bought before it.

    A buyer is **new** when their first purchase ever (in the feed and the service's
    log) falls in the period, **returning** when they had bought before its first day.
    Per kind: the figures of :mod:`kpi.figures` over those buyers' events in the
    period, beside the previous period's (judged against its own start).

    Args:
        events: Prepared events, all history through the period's end.
        period: The current period.
    """
    first = (
        events.filter(pl.col("event_type") == "purchase")
        .group_by("user_id")
        .agg(first_purchase=pl.col("timestamp").min())
    )
    parts = []
    for part in (period, period.previous()):
        mine = events.filter(part.contains(pl.col("timestamp")))
        buyers = mine.filter(pl.col("event_type") == "purchase").select("user_id").unique()
        kinds = buyers.join(first, on="user_id").select(
            "user_id",
            kind=pl.when(pl.col("first_purchase") >= part.start)
            .then(pl.lit("new"))
            .otherwise(pl.lit("returning")),
        )
        parts.append(summarise(mine.join(kinds, on="user_id"), ["kind"]))
    table = with_previous(parts[0], parts[1], ["kind"])
    order = pl.DataFrame({"kind": ["new", "returning"]})
    zero = [*COUNTS, *(f"{c}_previous" for c in COUNTS)]
    found = order.join(table, on="kind", how="left").with_columns(pl.col(zero).fill_null(0))
    return found.with_columns(
        share_of_gmv=ratio("gmv", pl.col("gmv").sum()),
        share_of_gmv_previous=ratio("gmv_previous", pl.col("gmv_previous").sum()),
    )
