"""Exposure fairness of recommendations: who gets shown, against who gets bought.

Inputs: served lists (``request_id``, ``served_at``, ``items``), the catalogue
(``item_id``, ``category``, ``brand``, ``created_at``), purchases (``item_id``,
``quantity``, ``timestamp``) and item popularity (``item_id``, ``popularity``: its
interactions in the shop's history). Measures:

- **Exposure share** of a group g (a category, a brand, new items): E_g = Σ_{i∈g} e_i /
  Σ_i e_i with e_i the times item i was shown; beside the **purchase share** P_g (units
  bought) and the ratio E_g / P_g (1: shown as much as bought; ``None`` when P_g = 0).
  An item is *new* when shown or bought within ``new_days`` of its ``created_at``.
- **Exposure Gini** over the whole catalogue (unshown items count as 0):
  G = Σ_{k=1..n} (2k − n − 1) x_(k) / (n Σ_k x_(k)), x sorted ascending; 0 is equal
  exposure, → 1 all exposure on one item.
- **Catalogue coverage**: |{i : e_i > 0}| / n.
- **Popularity bias** (Abdollahpouri et al., "The unfairness of popular bias in
  recommendation", 2019): average recommendation popularity
  ARP = (1/|L|) Σ_{l∈L} Σ_{i∈l} φ(i)/|l| with φ(i) the item's popularity; the profile's
  popularity ARP_P = (1/|B|) Σ_{i∈B} φ(i) over the units bought B; popularity lift
  ΔGAP = (ARP − ARP_P) / ARP_P (> 0: lists favour popular items more than shoppers do).
- **Over time**: Gini, coverage and ARP per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class ExposureFairness:
    """The exposure audit of a set of served lists.

    Attributes:
        lists: Served lists.
        impressions: Item impressions (every item of every list).
        catalogue: Items in the catalogue.
        coverage: Share of the catalogue shown at least once.
        gini: Exposure Gini over the catalogue.
        arp: Average recommendation popularity.
        profile_popularity: Average popularity of the units bought.
        popularity_lift: ``(arp − profile_popularity) / profile_popularity``.
        by_category: ``group``, ``exposure_share``, ``purchase_share``, ``ratio``.
        by_brand: The same by brand.
        new_items: The same for new vs. established items.
        daily: ``day``, ``lists``, ``gini``, ``coverage``, ``arp``.
    """

    lists: int
    impressions: int
    catalogue: int
    coverage: float | None
    gini: float | None
    arp: float | None
    profile_popularity: float | None
    popularity_lift: float | None
    by_category: pl.DataFrame
    by_brand: pl.DataFrame
    new_items: pl.DataFrame
    daily: pl.DataFrame


def gini(values: list[float]) -> float | None:
    """The Gini coefficient of non-negative ``values`` (``None`` when they sum to 0)."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total <= 0:
        return None
    return sum((2 * k - n - 1) * x for k, x in enumerate(ordered, start=1)) / (n * total)


def impressions(lists: pl.DataFrame) -> pl.DataFrame:
    """One row per shown item: ``request_id``, ``served_at``, ``item_id``, ``weight``
    (1/|l|, for ARP)."""
    return (
        lists.with_columns((1.0 / pl.col("items").list.len()).alias("weight"))
        .explode("items")
        .rename({"items": "item_id"})
        .drop_nulls("item_id")
        .select("request_id", "served_at", "item_id", "weight")
    )


def shares(
    shown: pl.DataFrame, bought: pl.DataFrame, catalog: pl.DataFrame, group: str
) -> pl.DataFrame:
    """Exposure and purchase share per value of ``group`` (a catalogue column, or one
    the frames already carry), largest exposure first."""

    def share(frame: pl.DataFrame, weight: str, name: str) -> pl.DataFrame:
        if group not in frame.columns:
            frame = frame.join(catalog.select("item_id", group), on="item_id", how="left")
        frame = frame.with_columns(pl.col(group).cast(pl.String).fill_null("(none)"))
        total = frame[weight].sum() if frame.height else 0
        out = frame.group_by(group).agg(pl.col(weight).sum().alias(name))
        return out.with_columns((pl.col(name) / total) if total else pl.lit(0.0).alias(name))

    e = share(shown.with_columns(pl.lit(1.0).alias("n")), "n", "exposure_share")
    p = share(
        bought.with_columns(pl.col("quantity").cast(pl.Float64)), "quantity", "purchase_share"
    )
    both = e.join(p, on=group, how="full", coalesce=True).fill_null(0.0)
    ratio = pl.when(pl.col("purchase_share") > 0).then(
        pl.col("exposure_share") / pl.col("purchase_share")
    )
    return (
        both.with_columns(ratio.alias("ratio"))
        .rename({group: "group"})
        .sort("exposure_share", "group", descending=[True, False])
    )


def _is_new(frame: pl.DataFrame, catalog: pl.DataFrame, moment: str, days: int) -> pl.DataFrame:
    joined = frame.join(catalog.select("item_id", "created_at"), on="item_id", how="left")
    new = (pl.col(moment) - pl.col("created_at")) < pl.duration(days=days)
    label = pl.when(new).then(pl.lit("new")).otherwise(pl.lit("established"))
    return joined.with_columns(label.alias("new_item"))


def _arp(shown: pl.DataFrame, lists: int) -> float | None:
    """ARP of impressions carrying ``popularity`` and ``weight``."""
    return float((shown["popularity"] * shown["weight"]).sum()) / lists if lists else None


def _daily(shown: pl.DataFrame, n_items: int) -> pl.DataFrame:
    schema = {"day": pl.Date(), "lists": pl.UInt32(), "gini": pl.Float64(),
              "coverage": pl.Float64(), "arp": pl.Float64()}  # fmt: skip
    rows = []
    days = shown.with_columns(pl.col("served_at").dt.date().alias("day")).partition_by(
        "day", as_dict=True
    )
    for (day,), frame in sorted(days.items()):
        counts = frame.group_by("item_id").len()["len"].cast(pl.Float64).to_list()
        lists = frame["request_id"].n_unique()
        rows.append({
            "day": day, "lists": lists,
            "gini": gini(counts + [0.0] * (n_items - len(counts))),
            "coverage": len(counts) / n_items if n_items else None,
            "arp": _arp(frame, lists),
        })  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def exposure_fairness(
    lists: pl.DataFrame,
    catalog: pl.DataFrame,
    purchases: pl.DataFrame,
    popularity: pl.DataFrame,
    new_days: int = 30,
) -> ExposureFairness:
    """The exposure audit (measures in the module's docstring).

    Args:
        lists: Served lists, one row per answer (``request_id``, ``served_at``, ``items``).
        catalog: ``item_id``, ``category``, ``brand``, ``created_at``.
        purchases: ``item_id``, ``quantity``, ``timestamp`` of the period's purchases.
        popularity: ``item_id``, ``popularity`` (items missing count 0).
        new_days: An item is new this many days after its ``created_at``.
    """
    lists = lists.unique("request_id", keep="first")
    pop = popularity.select("item_id", pl.col("popularity").cast(pl.Float64))
    shown = impressions(lists).join(pop, on="item_id", how="left").fill_null(0.0)
    bought = purchases.join(pop, on="item_id", how="left").with_columns(
        pl.col("popularity").fill_null(0.0)
    )
    n = catalog.height
    counts = shown.group_by("item_id").len()["len"].cast(pl.Float64).to_list()
    arp = _arp(shown, lists.height)
    units = float(bought["quantity"].sum()) if bought.height else 0.0
    profile = float((bought["popularity"] * bought["quantity"]).sum()) / units if units else None
    lift = None if arp is None or not profile else (arp - profile) / profile
    return ExposureFairness(
        lists=lists.height,
        impressions=shown.height,
        catalogue=n,
        coverage=len(counts) / n if n else None,
        gini=gini(counts + [0.0] * max(n - len(counts), 0)),
        arp=arp,
        profile_popularity=profile,
        popularity_lift=lift,
        by_category=shares(shown, bought, catalog, "category"),
        by_brand=shares(shown, bought, catalog, "brand"),
        new_items=shares(
            _is_new(shown, catalog, "served_at", new_days),
            _is_new(bought, catalog, "timestamp", new_days),
            catalog,
            "new_item",
        ),
        daily=_daily(shown, n),
    )
