"""The simulator: deterministic, valid, and faithful to the truth it claims."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy.optimize import minimize_scalar

from simulator import Simulation, SimulationConfig, simulate


def test_same_seed_gives_identical_feeds(small_sim: Simulation, make_config) -> None:
    again = simulate(make_config())
    for name, table in small_sim.feeds.present().items():
        assert getattr(again.feeds, name).equals(table), name


def test_other_seed_gives_other_feeds(small_sim: Simulation, make_config) -> None:
    other = simulate(make_config(seed=7))
    assert not other.feeds.events.equals(small_sim.feeds.events)


def test_default_size_is_about_two_million_events(default_sim: Simulation) -> None:
    events = default_sim.feeds.events
    assert 1_700_000 <= events.height <= 2_300_000
    assert default_sim.feeds.catalog.height == 2000
    assert 15_000 <= events["user_id"].n_unique() <= 20_000
    days = events["timestamp"].dt.date()
    assert days.min().isoformat() == "2025-06-01"
    # 180 days of sessions; the last day's late sessions may check out after midnight
    assert days.filter(days < days.min() + dt.timedelta(days=180)).n_unique() == 180


def test_funnel_order_within_a_session(small_sim: Simulation) -> None:
    """Every purchase follows an add-to-cart of the same item, which follows a view."""
    events = small_sim.feeds.events
    first = events.group_by("session_id", "item_id", "event_type").agg(pl.col("timestamp").min())
    wide = first.pivot(on="event_type", index=["session_id", "item_id"], values="timestamp")
    carts = wide.filter(pl.col("add_to_cart").is_not_null())
    assert carts["view"].null_count() == 0
    assert (carts["view"] < carts["add_to_cart"]).all()
    buys = wide.filter(pl.col("purchase").is_not_null())
    assert buys["add_to_cart"].null_count() == 0
    assert (buys["add_to_cart"] < buys["purchase"]).all()


def test_no_event_before_an_item_exists(small_sim: Simulation) -> None:
    joined = small_sim.feeds.events.join(small_sim.feeds.catalog, on="item_id")
    assert (joined["timestamp"] >= joined["created_at"]).all()
    assert (small_sim.truth.items_frame()["created_day"] > 0).any(), "some items launch late"


def test_sales_never_exceed_stock_and_stock_runs_out_and_restocks(small_sim: Simulation) -> None:
    f = small_sim.feeds
    inv = f.inventory.sort("item_id", "timestamp").with_columns(
        prev=pl.col("on_hand").shift(1).over("item_id"),
        date=pl.col("timestamp").dt.date(),
    )
    day = inv.join(f.sales, left_on=["item_id", "date"], right_on=["item_id", "period_start"])
    restocked = day["on_hand"] > day["prev"] - day["units"]
    assert (day["on_hand"] >= 0).all()
    assert restocked.sum() > 0, "deliveries arrive"
    assert f.sales["stockout"].sum() > 0, "some items run out"
    purchases = f.events.filter(pl.col("event_type") == "purchase")
    units = purchases.group_by("item_id", pl.col("timestamp").dt.date().alias("d")).agg(
        pl.col("quantity").sum()
    )
    assert units["quantity"].sum() == pytest.approx(f.sales["units"].sum(), rel=0.01)


def test_unit_price_is_the_listed_price(small_sim: Simulation) -> None:
    prices = small_sim.feeds.prices.sort("valid_from")
    # a return refunds the price once paid (tests/simulator/test_returns.py), not today's
    events = small_sim.feeds.events.filter(pl.col("event_type") != "return").sort("timestamp")
    joined = events.join_asof(
        prices,
        left_on="timestamp",
        right_on="valid_from",
        by="item_id",
        strategy="backward",
        check_sortedness=False,
    )
    # checkout can run past midnight, so compare events that start and end on one day
    same_day = joined.filter(pl.col("timestamp").dt.hour() < 23)
    assert (same_day["unit_price"] == same_day["price"]).mean() > 0.999


def test_weekends_and_promotion_days_bring_more_traffic(default_sim: Simulation) -> None:
    daily = (
        default_sim.feeds.events.filter(pl.col("event_type") == "view")
        .group_by(day=pl.col("timestamp").dt.date())
        .agg(views=pl.len())
        .with_columns(weekday=pl.col("day").dt.weekday())
    )
    weekend = daily.filter(pl.col("weekday") >= 6)["views"].mean()
    midweek = daily.filter(pl.col("weekday").is_in([2, 3]))["views"].mean()
    assert weekend > 1.08 * midweek
    promo_days = set(default_sim.truth.world.promo_days.tolist())
    start = default_sim.truth.cfg.start_date
    lift = daily.with_columns(n=(pl.col("day") - start).dt.total_days()).with_columns(
        promo=pl.col("n").is_in(list(promo_days))
    )
    assert (
        lift.filter("promo")["views"].mean() > 1.3 * lift.filter(~pl.col("promo"))["views"].mean()
    )


def _poisson_scale(sales: pl.DataFrame) -> tuple[float, float]:
    """Fit units ~ Poisson(exp(a_item + k * elasticity * log(price / base))); return k, se."""
    y = sales["units"].to_numpy()
    x = (sales["elasticity"] * (sales["price"] / sales["base_price"]).log()).to_numpy()
    group = sales["item_id"].cast(pl.Categorical).to_physical().to_numpy()
    totals = np.bincount(group, y)

    def nll(k: float) -> float:
        alpha = np.log(np.maximum(totals, 1e-12) / np.bincount(group, np.exp(k * x)))
        mu = np.exp(alpha[group] + k * x)
        return float((mu - y * np.log(mu)).sum())

    k = minimize_scalar(nll, bounds=(-2, 4), method="bounded").x
    h = 1e-3
    curvature = (nll(k + h) - 2 * nll(k) + nll(k - h)) / h**2
    # the demand trends make counts overdispersed: inflate the Poisson standard error
    mu_fit = y.mean()
    dispersion = max(1.0, float(np.var(y) / mu_fit)) if mu_fit > 0 else 1.0
    return k, float(np.sqrt(dispersion / curvature))


@pytest.fixture(scope="module")
def in_stock_sales(default_sim: Simulation) -> pl.DataFrame:
    truth = default_sim.truth.items_frame().select("item_id", "elasticity")
    return default_sim.feeds.sales.filter(~pl.col("stockout")).join(truth, on="item_id")


def test_randomised_price_tests_recover_the_true_elasticity(in_stock_sales: pl.DataFrame) -> None:
    """On randomised tests, log units fall with log price at the true elasticity."""
    k, se = _poisson_scale(in_stock_sales.filter("price_test"))
    assert abs(k - 1) < max(3 * se, 0.08), (k, se)


def test_policy_prices_bias_the_naive_estimate(in_stock_sales: pl.DataFrame) -> None:
    """Prices set by the demand-reacting policy are confounded: naive slopes are off."""
    k, se = _poisson_scale(in_stock_sales.filter(~pl.col("price_test")))
    assert abs(k - 1) > 4 * se, (k, se)
    assert abs(k - 1) > 0.1, k


def _tiny(**dates: dt.date) -> SimulationConfig:
    base = SimulationConfig(days=14, n_users=200, **dates)
    return base.model_copy(
        update={
            "catalog": base.catalog.model_copy(update={"n_items": 30, "n_categories": 3}),
            "behaviour": base.behaviour.model_copy(update={"sessions_per_day": 20}),
        }
    )


def test_default_history_ends_at_the_start_of_today_utc() -> None:
    before = dt.datetime.now(dt.UTC).date()
    sim = simulate(_tiny())
    after = dt.datetime.now(dt.UTC).date()
    end = sim.truth.cfg.end_date
    assert end in {before, after}, "today 00:00 UTC is where the history stops"
    assert sim.truth.cfg.start_date == end - dt.timedelta(days=14)
    days = sim.feeds.sales["period_start"]
    assert days.max() == end - dt.timedelta(days=1) and days.min() == sim.truth.cfg.start_date
    # only the last day's late sessions may check out after midnight
    assert sim.feeds.events["timestamp"].min().date() >= sim.truth.cfg.start_date


def test_explicit_dates_win_and_the_same_end_gives_the_same_data() -> None:
    end = dt.date(2024, 3, 1)
    first, again = simulate(_tiny(end_date=end)), simulate(_tiny(end_date=end))
    assert first.truth.cfg.start_date == dt.date(2024, 2, 16)
    assert first.feeds.sales["period_start"].max() == dt.date(2024, 2, 29)
    for name, table in first.feeds.present().items():
        assert getattr(again.feeds, name).equals(table), name
    started = _tiny(start_date=dt.date(2024, 2, 16))
    assert (started.start, started.end) == (dt.date(2024, 2, 16), end)
    both = SimulationConfig(start_date=dt.date(2024, 1, 1), end_date=dt.date(2024, 2, 1))
    assert both.days == 31
    with pytest.raises(ValueError, match="give two of the three"):
        SimulationConfig(start_date=dt.date(2024, 1, 1), end_date=end, days=20)
