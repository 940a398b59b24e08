"""Approval publishes a proposal once, and the audit keeps who and when."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tests.training.pricing.inputs import random_inputs
from training.pricing.config import PricingConfig
from training.pricing.pipeline import propose_all
from training.pricing.proposals import PROPOSED, ProposalSet, approve, load, save
from training.pricing.publish import current_prices, price_history, publish

DAY = dt.date(2025, 6, 1)
NOON = dt.datetime(2025, 5, 31, 12, tzinfo=dt.UTC)


def _saved(path: Path, proposal_id: str = "p1") -> ProposalSet:
    table = propose_all(random_inputs(20), PricingConfig())
    proposal = ProposalSet(proposal_id, DAY, table, {"date": DAY.isoformat(), "status": PROPOSED})
    save(proposal, path)
    return proposal


def test_approval_publishes_every_price_with_its_approver(tmp_path: Path) -> None:
    proposal = _saved(tmp_path)
    assert approve(tmp_path, "p1", "alice", NOON) == 20
    published = current_prices(tmp_path).sort("item_id")
    assert published["price"].to_list() == proposal.table.sort("item_id")["price"].to_list()
    assert set(published["approved_by"]) == {"alice"}
    assert published["valid_from"].min() == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert load(tmp_path, "p1").meta["status"] == "published"


def test_a_proposal_is_published_once(tmp_path: Path) -> None:
    _saved(tmp_path)
    approve(tmp_path, "p1", "alice", NOON)
    with pytest.raises(ValueError, match="already published by alice"):
        approve(tmp_path, "p1", "bob", NOON)
    assert price_history(tmp_path).height == 20


def test_unknown_proposal_names_the_latest(tmp_path: Path) -> None:
    _saved(tmp_path, "2025-06-01-120000")
    with pytest.raises(FileNotFoundError, match="latest: 2025-06-01-120000"):
        approve(tmp_path, "nope", "alice")


def test_history_keeps_every_publication_and_the_latest_wins(tmp_path: Path) -> None:
    rows = pl.DataFrame({"item_id": ["a"], "price": [9.99], "was_price": [8.99],
                         "reasons": [["max_daily_change"]]})  # fmt: skip
    publish(rows, tmp_path, "p1", "alice", NOON)
    publish(rows.with_columns(price=pl.lit(10.99)), tmp_path, "p2", "bob",
            NOON + dt.timedelta(days=1))  # fmt: skip
    assert price_history(tmp_path)["approved_by"].to_list() == ["alice", "bob"]
    assert current_prices(tmp_path).row(0, named=True)["price"] == 10.99
    with pytest.raises(ValueError, match="approved_by"):
        publish(rows, tmp_path, "p3", " ")
    with pytest.raises(ValueError, match="price"):
        publish(rows.with_columns(price=pl.lit(0.0)), tmp_path, "p3", "carol")
    assert price_history(tmp_path).height == 2, "a refused publication writes nothing"
