"""Simulated weekly panels with known elasticities, independent of the shop simulator.

A retailer sets each week's price from the season and last week's sales (dearer after
strong weeks, judged against what it expected at last week's price), promotes after
weak weeks, and demand carries an unobserved persistent shock (AR(1) per item and
store), so price and the demand shock are correlated and the naive log-log slope is
biased. Counts are negative binomial (overdispersed), with a store effect shared by
every item of the store and week (clustering by store).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

GUESSED_ELASTICITY = -2.0
"""The retailer's rule of thumb for how its own price moved last week's sales."""
MAX_LOG_RATIO = 0.5
"""Prices stay within exp(±0.5) of the base price."""


def confounded_panel(
    n_items: int = 12,
    n_stores: int = 20,
    n_weeks: int = 156,
    seed: int = 0,
    level: float = 3.0,
    dispersion: float = 20.0,
    shock_sd: float = 0.4,
    shock_ar: float = 0.8,
    reaction: float = 0.5,
    price_noise: float = 0.2,
    season_price: float = 0.3,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A demand table (the feature store's columns), its catalog and the truth.

    Demand of item i in store s and week t:
    ``log mu = a_i + c_s + season_t + w_st + u_ist + e_i log(p_ist / base_i) + 0.4 promo``,
    ``u_ist = shock_ar * u_is,t-1 + N(0, shock_sd)`` unobserved, ``w_st`` a store-week
    shock, units ~ NegBin(mean mu, size ``dispersion``). Price:
    ``log(p / base) = reaction * r_t-1 + season_price * season_t / 0.3 - 0.2 promo
    + N(0, price_noise)``, kept within ±:data:`MAX_LOG_RATIO`, with last week's surprise
    ``r_t-1 = log(1 + y_t-1) - log(1 + exp(a_i + c_s + season_t-1 + g log(p_t-1 / base)))``
    (what the retailer sees, ``g`` = :data:`GUESSED_ELASTICITY`: without it a retailer
    who raises after strong weeks would chase its own price's effect into ever wider
    swings); a promotion (80% chance) follows a surprise below log 0.7.

    Args:
        n_items, n_stores, n_weeks: Panel size.
        seed: Random seed.
        level: Mean log units of an item at its base price.
        dispersion: Negative-binomial size (smaller: more overdispersed).
        shock_sd, shock_ar: The unobserved demand shock.
        reaction: How strongly price follows last week's sales.
        price_noise: Exogenous price variation (what identifies the elasticity).
        season_price: How far the retailer's price follows the season.

    Returns:
        demand, catalog (item_id, category) and truth (item_id, elasticity).
    """
    rng = np.random.default_rng(seed)
    elasticity = rng.uniform(-3.5, -0.8, n_items)
    a = level + rng.normal(0, 0.5, n_items)
    c = rng.normal(0, 0.3, n_stores)
    base = rng.uniform(2, 10, n_items)
    weeks = np.arange(n_weeks)
    season = 0.3 * np.sin(2 * np.pi * weeks / 52)
    shape = (n_items, n_stores)
    u = rng.normal(0, shock_sd / np.sqrt(1 - shock_ar**2), shape)
    usual = np.exp(a[:, None] + c[None, :]) * np.ones(shape)  # the retailer knows its levels
    prev_units = usual.copy()
    prev_season, prev_ratio = 0.0, np.zeros(shape)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("units", "price", "promo", "week")}
    for t in weeks:
        u = shock_ar * u + rng.normal(0, shock_sd, shape)
        store_week = rng.normal(0, 0.1, n_stores)[None, :]
        expected_before = usual * np.exp(prev_season + GUESSED_ELASTICITY * prev_ratio)
        surprise = np.log1p(prev_units) - np.log1p(expected_before)
        weak = surprise < np.log(0.7)
        promo = weak & (rng.random(shape) < 0.8)
        log_ratio = np.clip(
            reaction * surprise
            + season_price * season[t] / 0.3
            - 0.2 * promo
            + rng.normal(0, price_noise, shape),
            -MAX_LOG_RATIO,
            MAX_LOG_RATIO,
        )
        expected = np.exp(a[:, None] + c[None, :] + season[t] + 0.4 * promo + store_week)
        mu = expected * np.exp(u + elasticity[:, None] * log_ratio)
        units = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
        out["units"].append(units.ravel())
        out["price"].append((base[:, None] * np.exp(log_ratio)).ravel())
        out["promo"].append(promo.ravel())
        out["week"].append(np.full(units.size, t))
        prev_units, prev_season, prev_ratio = units.astype(float), season[t], log_ratio
    items = np.tile(np.repeat(np.arange(n_items), n_stores), n_weeks)
    stores = np.tile(np.tile(np.arange(n_stores), n_items), n_weeks)
    start = dt.date(2024, 1, 4)
    frame = pl.DataFrame(
        {
            "item_id": [f"p{k:02d}" for k in items],
            "location_id": [f"s{k:02d}" for k in stores],
            "period_start": [
                start + dt.timedelta(weeks=int(w)) for w in np.concatenate(out["week"])
            ],
            "units": np.concatenate(out["units"]).astype(float),
            "price": np.round(np.concatenate(out["price"]), 2),
            "base_price": base[items],
            "promo": np.concatenate(out["promo"]),
        }
    )
    demand = frame.with_columns(
        censored=pl.lit(False),
        discount=1 - pl.col("price") / pl.col("base_price"),
        day_of_week=pl.col("period_start").dt.weekday().cast(pl.Int64),
        week_of_year=pl.col("period_start").dt.week().cast(pl.Int64),
        month=pl.col("period_start").dt.month().cast(pl.Int64),
        day_of_year=pl.col("period_start").dt.ordinal_day().cast(pl.Int64),
    ).sort("item_id", "location_id", "period_start")
    names = [f"p{k:02d}" for k in range(n_items)]
    catalog = pl.DataFrame({"item_id": names, "category": [f"c{k % 2}" for k in range(n_items)]})
    truth = pl.DataFrame({"item_id": names, "true": elasticity})
    return demand, catalog, truth
