"""The optimiser never breaks a guardrail, and says which ones held it back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.pricing.config import PriceBounds, PricingConfig
from training.pricing.guardrails import (
    MARGIN_FLOOR,
    MAX_DAILY_CHANGE,
    OVERSTOCK_MARKDOWN_ONLY,
    RULES,
    SHORT_STOCK_NO_DISCOUNT,
    ItemState,
    round_to_ending,
    violations,
)
from training.pricing.optimiser import propose


def _item(**overrides: object) -> ItemState:
    values = {"item_id": "x", "current_price": 20.0, "base_price": 20.0, "unit_cost": 10.0}
    return ItemState(**(values | overrides))


def test_elastic_items_get_cheaper_and_inelastic_dearer() -> None:
    cfg = PricingConfig(price_ending=None)
    elastic = propose(_item(), forecast_units=10, elasticity=-6.0, cfg=cfg)
    inelastic = propose(_item(), forecast_units=10, elasticity=-0.5, cfg=cfg)
    assert elastic.price < 20 < inelastic.price
    assert inelastic.reasons == [MAX_DAILY_CHANGE], "it would go higher if allowed"
    assert inelastic.expected_profit > (20 - 10) * 10


def test_margin_floor_binds_and_is_named() -> None:
    cfg = PricingConfig(price_ending=None, margin_floor=0.5, max_daily_change=0.3)
    proposal = propose(_item(unit_cost=12.0), forecast_units=10, elasticity=-8.0, cfg=cfg)
    assert proposal.price >= 18.0
    assert MARGIN_FLOOR in proposal.reasons


def test_stock_rules() -> None:
    cfg = PricingConfig(price_ending=None)
    overstock = propose(_item(days_of_cover=200.0), 10, -0.5, cfg)
    assert overstock.price <= 20 and OVERSTOCK_MARKDOWN_ONLY in overstock.reasons
    short = propose(_item(days_of_cover=2.0, on_order=0), 10, -6.0, cfg)
    assert short.price >= 20 and SHORT_STOCK_NO_DISCOUNT in short.reasons
    restock_due = propose(_item(days_of_cover=2.0, on_order=50), 10, -6.0, cfg)
    assert restock_due.price < 20


def test_volume_floor_limits_price_rises() -> None:
    cfg = PricingConfig(price_ending=None, objective="profit_with_volume_floor", volume_floor=0.95)
    proposal = propose(_item(), forecast_units=10, elasticity=-0.5, cfg=cfg)
    assert proposal.expected_units >= 9.5 - 1e-9


def test_prices_end_in_99_and_the_was_price_is_the_30_day_low() -> None:
    proposal = propose(_item(lowest_price_30d=17.49), 10, -3.0, PricingConfig())
    assert f"{proposal.price:.2f}".endswith(".99") or proposal.price == 20.0
    assert proposal.was_price == 17.49
    assert round_to_ending(20.4, 0.99) == 19.99 and round_to_ending(20.6, 0.99) == 20.99


def test_no_allowed_price_means_no_proposal() -> None:
    cfg = PricingConfig(bounds=PriceBounds(min_ratio=2.0, max_ratio=3.0))
    assert propose(_item(), 10, -2.0, cfg) is None


prices = st.floats(min_value=0.5, max_value=500, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    current=prices,
    base=prices,
    cost_share=st.one_of(st.none(), st.floats(0.0, 1.5)),
    cover=st.one_of(st.none(), st.floats(0.0, 400.0)),
    on_order=st.one_of(st.none(), st.integers(0, 100)),
    elasticity=st.floats(-8.0, 0.5),
    units=st.floats(0.0, 1000.0),
    min_ratio=st.floats(0.1, 1.0),
    max_extra=st.floats(0.0, 2.0),
    change=st.floats(0.01, 0.5),
    floor=st.floats(0.0, 1.0),
    ending=st.one_of(st.none(), st.sampled_from([0.99, 0.95, 0.49])),
    objective=st.sampled_from(["profit", "revenue", "profit_with_volume_floor"]),
)
def test_no_proposal_ever_breaks_a_guardrail(
    current, base, cost_share, cover, on_order, elasticity, units, min_ratio, max_extra, change,
    floor, ending, objective,
) -> None:  # fmt: skip
    cfg = PricingConfig(
        objective=objective,
        bounds=PriceBounds(min_ratio=min_ratio, max_ratio=min_ratio + max_extra),
        max_daily_change=change,
        margin_floor=floor,
        price_ending=ending,
    )
    item = _item(
        current_price=current,
        base_price=base,
        unit_cost=None if cost_share is None else cost_share * base,
        days_of_cover=cover,
        on_order=on_order,
    )
    proposal = propose(item, units, elasticity, cfg)
    if proposal is None:
        return
    assert violations(proposal.price, item, cfg) == []
    assert set(proposal.reasons) <= set(RULES)
    assert proposal.price > 0 and proposal.expected_units >= 0
    assert proposal.expected_revenue == pytest.approx(proposal.price * proposal.expected_units)
