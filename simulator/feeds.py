"""Turn the simulation's raw arrays into the five feed tables of the contract."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from simulator.config import SimulationConfig
from simulator.world import World
from storefront.feeds import Feeds, validate_feeds

EVENT_TYPES = ("view", "add_to_cart", "purchase", "return")
BRANDS_PER_CATEGORY = 6


def _start(cfg: SimulationConfig) -> dt.datetime:
    return dt.datetime.combine(cfg.start, dt.time(), tzinfo=dt.UTC)


def _at(cfg: SimulationConfig, seconds: pl.Expr) -> pl.Expr:
    """UTC timestamps ``seconds`` after the simulation's first midnight."""
    return pl.lit(_start(cfg)) + pl.duration(microseconds=(seconds * 1e6).cast(pl.Int64))


def _events(cfg: SimulationConfig, world: World, ev: dict[str, np.ndarray]) -> pl.DataFrame:
    order = np.argsort(ev["second"], kind="stable")
    raw = pl.DataFrame({name: values[order] for name, values in ev.items()})
    return raw.select(
        event_id=pl.format("e{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(9)),
        user_id=pl.Series(world.user_ids).gather(raw["user"]),
        session_id=pl.format("s{}", pl.col("session").cast(pl.String).str.zfill(8)),
        item_id=pl.Series(world.item_ids).gather(raw["item"]),
        event_type=pl.Series(EVENT_TYPES).gather(raw["type"]),
        timestamp=_at(cfg, pl.col("second")),
        quantity=pl.col("quantity").cast(pl.Int64),
        unit_price=pl.col("price"),
        request_id=pl.lit(None, pl.String),
        # an order is its purchase session: purchases and their returns carry it
        order_id=pl.when(pl.col("order") >= 0).then(
            pl.format("o{}", pl.col("order").cast(pl.String).str.zfill(8))
        ),
        return_reason=pl.when(pl.col("reason") >= 0).then(
            pl.Series(cfg.returns.reasons).gather(raw["reason"].clip(0))
        ),
    )


def _catalog(cfg: SimulationConfig, world: World, rng: np.random.Generator) -> pl.DataFrame:
    brand = rng.integers(0, BRANDS_PER_CATEGORY, len(world.item_ids))
    return pl.DataFrame(
        {
            "item_id": world.item_ids,
            "category": world.category_names[world.item_category],
            "brand": [
                f"brand_{c:02d}_{b}" for c, b in zip(world.item_category, brand, strict=True)
            ],
            "base_price": world.base_price,
            "unit_cost": world.unit_cost,
            "created_day": world.item_created_day,
        }
    ).select(
        "item_id", "category", "brand", "base_price", "unit_cost",
        created_at=_at(cfg, pl.col("created_day") * 86_400.0),
    )  # fmt: skip


def _item_days(cfg: SimulationConfig, world: World, days: dict[str, np.ndarray]) -> pl.DataFrame:
    """One row per item and day on which the item existed."""
    return (
        pl.DataFrame(days)
        .with_columns(
            item_id=pl.Series(world.item_ids).gather(pl.Series(days["item"])),
            created=pl.Series(world.item_created_day).gather(pl.Series(days["item"])),
            base_price=pl.Series(world.base_price).gather(pl.Series(days["item"])),
            price_test=pl.Series(world.item_price_test).gather(pl.Series(days["item"])),
            date=pl.lit(cfg.start) + pl.duration(days=pl.col("day")),
        )
        .filter(pl.col("day") >= pl.col("created"))
        .sort("item", "day")
    )


def _prices(cfg: SimulationConfig, item_days: pl.DataFrame) -> pl.DataFrame:
    changed = (pl.col("price") != pl.col("price").shift(1).over("item")) | (
        pl.col("promo") != pl.col("promo").shift(1).over("item")
    )
    return item_days.filter(changed.fill_null(True)).select(
        "item_id",
        valid_from=_at(cfg, pl.col("day") * 86_400.0),
        price="price",
        promo="promo",
        price_test="price_test",
    )


def _inventory(cfg: SimulationConfig, item_days: pl.DataFrame) -> pl.DataFrame:
    return item_days.select(
        "item_id",
        timestamp=_at(cfg, (pl.col("day") + 1) * 86_400.0 - 1),
        on_hand=pl.col("on_hand").cast(pl.Int64),
        on_order=pl.col("on_order").cast(pl.Int64),
    )


def _sales(item_days: pl.DataFrame) -> pl.DataFrame:
    return item_days.select(
        "item_id",
        location_id=pl.lit("online"),
        period_start="date",
        units=pl.col("units").cast(pl.Float64),
        price="price",
        base_price="base_price",
        promo="promo",
        stockout="stockout",
        price_test="price_test",
    )


def build_feeds(
    cfg: SimulationConfig,
    world: World,
    events: dict[str, np.ndarray],
    days: dict[str, np.ndarray],
) -> Feeds:
    """Assemble and validate the feeds from the simulation's event and item-day arrays."""
    rng = np.random.default_rng([cfg.seed, 1])
    item_days = _item_days(cfg, world, days)
    frames = {
        "events": _events(cfg, world, events),
        "catalog": _catalog(cfg, world, rng),
        "inventory": _inventory(cfg, item_days),
        "prices": _prices(cfg, item_days),
        "sales": _sales(item_days),
    }
    return Feeds(**validate_feeds(frames))
