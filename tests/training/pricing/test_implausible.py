"""Implausible elasticities are never priced on: flagged when estimated, replaced by the
category's estimate (or today's price kept) in proposals, and listed first in the report."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from tests.training.pricing.inputs import random_inputs
from training.elasticity.config import ElasticityConfig
from training.elasticity.pipeline import POSITIVE, TOO_LARGE, TOO_NARROW, flag
from training.pricing import report
from training.pricing.config import ExplorationConfig, PricingConfig
from training.pricing.inputs import CATEGORY, KEEP, OWN, priced_elasticities
from training.pricing.pipeline import IMPLAUSIBLE_ELASTICITY, propose_all
from training.pricing.proposals import ProposalSet
from training.pricing.report import implausible_items, write_report


def test_flags_name_positive_huge_and_degenerate_estimates() -> None:
    estimate = np.array([-1.5, 20.0, -9.0, -2.0, 0.3])
    low = estimate - np.array([0.6, 1e-5, 1.0, 0.001, 0.5])
    high = estimate + np.array([0.6, 1e-5, 1.0, 0.001, 0.5])
    flags = flag(estimate, low, high, np.array([180, 32, 200, 100, 50]), ElasticityConfig())
    assert flags == [[], [POSITIVE, TOO_LARGE, TOO_NARROW], [TOO_LARGE], [TOO_NARROW], [POSITIVE]]
    assert flag(estimate, low, high, np.full(5, 100), ElasticityConfig(max_abs_elasticity=25))[1] \
        == [POSITIVE, TOO_NARROW]  # fmt: skip


def _estimates() -> pl.DataFrame:
    """The quickstart shop's case: i001 has +20 from 32 rows with a pinpoint interval."""
    return pl.DataFrame(
        {
            "item_id": ["i000", "i001", "i002"],
            "elasticity": [-2.0, 20.0, 1.2],
            "ci_low": [-2.5, 19.99999, 0.2],
            "ci_high": [-1.5, 20.00001, 2.2],
            "flags": [[], [POSITIVE, TOO_LARGE, TOO_NARROW], [POSITIVE]],
            "implausible": [False, True, True],
            "category_elasticity": [-1.8, -1.8, 0.4],
            "category_ci_low": [-2.0, -2.0, 0.1],
            "category_ci_high": [-1.6, -1.6, 0.7],
            "category_implausible": [False, False, True],
        }
    )


def _inputs() -> pl.DataFrame:
    state = random_inputs(3, seed=5).drop("elasticity", "ci_low", "ci_high").with_columns(
        current_price=pl.col("base_price"), unit_cost=pl.col("base_price") * 0.5,
        days_of_cover=pl.lit(30.0), on_order=pl.lit(10),
    )  # fmt: skip
    return state.join(priced_elasticities(_estimates()), on="item_id")


def test_implausible_items_use_the_category_or_keep_their_price() -> None:
    inputs = _inputs()
    assert inputs["elasticity_source"].to_list() == [OWN, CATEGORY, KEEP]
    assert inputs["elasticity"].to_list() == [-2.0, -1.8, 1.2]
    cfg = PricingConfig(price_ending=None)
    table = propose_all(inputs, cfg).sort("item_id")
    own, category, keep = table.iter_rows(named=True)
    assert IMPLAUSIBLE_ELASTICITY not in own["reasons"] and not own["implausible"]
    assert category["reasons"][0] == IMPLAUSIBLE_ELASTICITY and category["elasticity"] == -1.8
    assert category["item_elasticity"] == 20.0
    # priced as if the category's -1.8 were true: the same price as an item estimated so
    plain = inputs.with_columns(elasticity=pl.lit(-1.8), elasticity_source=pl.lit(OWN))
    alike = propose_all(plain, cfg).sort("item_id")
    assert category["price"] == alike["price"][1]
    assert keep["reasons"] == [IMPLAUSIBLE_ELASTICITY] and keep["price"] == keep["current_price"]
    assert keep["expected_units"] == keep["current_units"]


def test_a_positive_elasticity_is_never_raised_on_its_own_estimate() -> None:
    """With +20 the optimiser would raise the price as far as allowed (more units at a
    higher price); replaced by the category's, the price follows the category."""
    inputs = _inputs()
    own = inputs.with_columns(elasticity=pl.col("item_elasticity"), elasticity_source=pl.lit(OWN))
    naive = propose_all(own, PricingConfig())
    guarded = propose_all(inputs, PricingConfig())
    assert naive.filter(pl.col("item_id") == "i001")["change"].item() > 0.05
    assert guarded.filter(pl.col("item_id") == "i002")["change"].item() == 0
    assert naive.filter(pl.col("item_id") == "i002")["change"].item() > 0.05


def test_exploration_skips_implausible_items() -> None:
    inputs = _inputs().with_columns(
        ci_low=pl.col("elasticity") - 5, ci_high=pl.col("elasticity") + 5
    )
    cfg = PricingConfig(exploration=ExplorationConfig(enabled=True, min_interval_width=1.0,
                                                      max_share=1.0, seed=0))  # fmt: skip
    table = propose_all(inputs, cfg).sort("item_id")
    assert table["exploration"].to_list() == [True, False, False]


def test_old_tables_without_flags_are_priced_as_before() -> None:
    old = _estimates().select("item_id", "elasticity", "ci_low", "ci_high")
    priced = priced_elasticities(old)
    assert priced["elasticity_source"].to_list() == [OWN] * 3
    assert priced["elasticity"].to_list() == old["elasticity"].to_list()


def test_the_report_lists_implausible_items_first(tmp_path, monkeypatch) -> None:
    table = propose_all(_inputs(), PricingConfig())
    listed = implausible_items(table)
    assert listed["item_id"].to_list() == ["i001", "i002"]
    assert listed["priced on"].to_list() == ["category's -1.8", "today's price kept"]
    empty = pl.DataFrame(schema={"item_id": pl.String, "period_start": pl.Date,
                                 "units": pl.Float64, "forecast": pl.Float64,
                                 "p10": pl.Float64, "p90": pl.Float64})  # fmt: skip
    monkeypatch.setattr(report, "read_demand", lambda _d: empty)
    monkeypatch.setattr(report, "read_forecasts", lambda _d: empty)
    monkeypatch.setattr(report, "proposals_dir", lambda _d: tmp_path)
    proposal = ProposalSet("p1", dt.date(2025, 6, 1), table, {"status": "proposed"})
    page = write_report(proposal, tmp_path, PricingConfig(), examples=1).read_text()
    section = page.index("Implausible elasticities")
    assert section < page.index("Guardrails that held prices back")
    assert page.index("i001", section) < page.index("Largest changes")
