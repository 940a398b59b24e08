"""Marketing effect: promotion response by price-sensitivity tier, and the running
experiments with their current verdict.

- **Promotion response** is the pricing model's own
  (:mod:`training.elasticity.promotion`): per tier (the shopper's paid-to-list price
  ratio, in thirds), add-to-cart rates of views on and off promotion in the period and
  the Mantel–Haenszel risk ratio stratified by item, with its 95% interval; a response
  of 1.3 means promoted views were added to the cart 30% more often. Tiers are the
  shoppers' at the period's end.
- **Experiments**: each running experiment's report
  (:func:`experiments.report.build_report`), reduced to its verdict
  (:mod:`experiments.verdict`: ship, don't ship or keep running, and why).
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from kpi.periods import Period
from training.elasticity.promotion import promotion_response, shopper_tiers, view_outcomes

log = logging.getLogger(__name__)


def promotion_by_tier(
    events: pl.DataFrame, prices: pl.DataFrame | None, tiers_from: pl.DataFrame, period: Period
) -> pl.DataFrame:
    """Promotion response per tier (``budget``, ``standard``, ``premium``) in the period.

    Args:
        events: Events covering the period.
        prices: The prices feed (its ``promo`` flags); ``None``: an empty table.
        tiers_from: Shopper snapshots (``user_id``, ``event_timestamp``,
            ``paid_to_base_ratio``) at the period's end (:func:`kpi.shoppers.snapshots`).
        period: The period.
    """
    mine = events.filter(period.contains(pl.col("timestamp")))
    priced = tiers_from.filter(pl.col("paid_to_base_ratio") > 0)
    viewed = mine.filter(pl.col("event_type") == "view")
    if prices is None or priced.height == 0 or viewed.is_empty():
        return pl.DataFrame()
    return promotion_response(view_outcomes(mine, prices), shopper_tiers(tiers_from))


def _primary_lift(report: dict[str, Any], treatment: str | None) -> float | None:
    primary = report.get("experiment", {}).get("primary_metric")
    comparisons = report.get("metrics", {}).get(primary, {}).get("comparisons", {})
    chosen = comparisons.get(treatment) if treatment else next(iter(comparisons.values()), None)
    value = (chosen or {}).get("relative")
    return float(value) if isinstance(value, int | float) and value == value else None


def running_experiments(store: Any, settings: Any = None) -> list[dict[str, Any]]:
    """Each running experiment of the store with its verdict: ``name``, ``surface``,
    ``primary_metric``, ``started``, ``units``, ``decision``, ``treatment``,
    ``verdict`` (the console line), ``lift`` (the primary metric's relative lift of
    the treatment the verdict is about), ``investigate``.

    Args:
        store: An :class:`experiments.store.ExperimentStore` (``None``: no experiments).
        settings: :class:`experiments.config.ExperimentsSettings` (default ones if
            ``None``).
    """
    from experiments.report import build_report

    if store is None:
        return []
    found = []
    for stored in store.list():
        if stored.status != "running":
            continue
        name = stored.experiment.name
        try:
            report = build_report(store, name, settings)
        except (ValueError, LookupError) as exc:  # logs unreadable: say so, keep the rest
            log.warning("experiment %s: no report (%s)", name, exc)
            found.append({"name": name, "verdict": f"no report: {exc}", "decision": None})
            continue
        verdict = report["verdict"]
        found.append(
            {
                "name": name,
                "surface": str(stored.experiment.surface),
                "primary_metric": str(stored.experiment.primary_metric),
                "started": stored.experiment.start.isoformat(),
                "units": int(report.get("units") or 0),
                "decision": verdict["decision"],
                "treatment": verdict["treatment"],
                "verdict": verdict["line"],
                "lift": _primary_lift(report, verdict["treatment"]),
                "investigate": bool(verdict["investigate"]),
            }
        )
    return found
