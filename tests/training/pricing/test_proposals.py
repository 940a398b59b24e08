"""Approval publishes a proposal through the ledger, and the audit keeps who and when;
a rejected proposal is never approved; approving again only republishes what changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tests.training.pricing.inputs import random_inputs
from training.pricing.actions import approve, publish, reject
from training.pricing.config import PricingConfig
from training.pricing.ledger import OVERRIDE, append, new_entries, prices_in_force, read_ledger
from training.pricing.pipeline import propose_all
from training.pricing.proposals import PROPOSED, ProposalSet, load, save

DAY = dt.date(2025, 6, 1)
NOON = dt.datetime(2025, 5, 31, 12, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 6, 2, 12, tzinfo=dt.UTC)


def _saved(path: Path, proposal_id: str = "p1") -> ProposalSet:
    table = propose_all(random_inputs(20), PricingConfig())
    proposal = ProposalSet(proposal_id, DAY, table, {"date": DAY.isoformat(), "status": PROPOSED})
    save(proposal, path)
    return proposal


def test_approval_publishes_every_price_with_its_approver(tmp_path: Path) -> None:
    proposal = _saved(tmp_path)
    assert approve(tmp_path, "p1", "alice", NOON).entries.height == 20
    assert prices_in_force(tmp_path, NOON).is_empty(), "in force from the proposal's day"
    published = prices_in_force(tmp_path, LATER).sort("item_id")
    table = proposal.table.sort("item_id")
    assert published["price"].to_list() == table["price"].to_list()
    assert published["previous_price"].to_list() == table["current_price"].to_list()
    assert set(published["by"]) == {"alice"} and set(published["kind"]) == {"publish"}
    assert published["valid_from"].min() == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert load(tmp_path, "p1").meta["status"] == "published"


def test_a_proposal_in_force_is_not_published_twice(tmp_path: Path) -> None:
    _saved(tmp_path)
    approve(tmp_path, "p1", "alice", NOON)
    with pytest.raises(ValueError, match="already published by alice"):
        approve(tmp_path, "p1", "bob", LATER)
    assert read_ledger(tmp_path).height == 20


def test_a_superseded_proposal_is_republished_from_now(tmp_path: Path) -> None:
    proposal = _saved(tmp_path)
    approve(tmp_path, "p1", "alice", NOON)
    item = proposal.table["item_id"][0]
    hand = pl.DataFrame({"item_id": [item], "price": [1.99], "previous_price": [None],
                         "valid_from": [LATER]})  # fmt: skip
    append(tmp_path, new_entries(OVERRIDE, hand, "carol", LATER, "clearance"))
    again = LATER + dt.timedelta(hours=1)
    result = approve(tmp_path, "p1", "bob", again)
    assert result.entries["valid_from"].unique().to_list() == [again]
    now = prices_in_force(tmp_path, again).filter(pl.col("item_id") == item).row(0, named=True)
    assert (now["price"], now["previous_price"], now["by"]) == (
        proposal.table["price"][0],
        1.99,
        "bob",
    )


def test_a_rejected_proposal_cannot_be_approved(tmp_path: Path) -> None:
    _saved(tmp_path)
    with pytest.raises(ValueError, match="why"):
        reject(tmp_path, "p1", "alice", " ", NOON)
    reject(tmp_path, "p1", "alice", "too aggressive on snacks", NOON)
    with pytest.raises(ValueError, match=r"rejected by alice .*too aggressive"):
        approve(tmp_path, "p1", "bob", LATER)
    with pytest.raises(ValueError, match="already"):
        reject(tmp_path, "p1", "bob", "again", LATER)
    assert read_ledger(tmp_path)["kind"].to_list() == ["reject"]
    assert prices_in_force(tmp_path, LATER).is_empty(), "a rejection sets no price"
    assert load(tmp_path, "p1").meta["status"] == "rejected"


def test_a_published_proposal_is_rolled_back_not_rejected(tmp_path: Path) -> None:
    _saved(tmp_path)
    approve(tmp_path, "p1", "alice", NOON)
    with pytest.raises(ValueError, match="rollback"):
        reject(tmp_path, "p1", "bob", "changed my mind", LATER)


def test_unknown_proposal_names_the_latest(tmp_path: Path) -> None:
    _saved(tmp_path, "2025-06-01-120000")
    with pytest.raises(FileNotFoundError, match="latest: 2025-06-01-120000"):
        approve(tmp_path, "nope", "alice", NOON)


def test_every_publication_is_kept_and_the_latest_wins(tmp_path: Path) -> None:
    rows = pl.DataFrame({"item_id": ["a"], "price": [9.99], "was_price": [8.99],
                         "reasons": [["max_daily_change"]]})  # fmt: skip
    publish(tmp_path, rows, "p1", "alice", NOON)
    publish(tmp_path, rows.with_columns(price=pl.lit(10.99)), "p2", "bob", LATER)
    assert read_ledger(tmp_path)["by"].to_list() == ["alice", "bob"]
    assert prices_in_force(tmp_path, LATER).row(0, named=True)["previous_price"] == 9.99
    assert prices_in_force(tmp_path, LATER).row(0, named=True)["price"] == 10.99
    with pytest.raises(ValueError, match="by"):
        publish(tmp_path, rows, "p3", " ", LATER)
    with pytest.raises(ValueError, match="price"):
        publish(tmp_path, rows.with_columns(price=pl.lit(0.0)), "p3", "carol", LATER)
    with pytest.raises(ValueError, match="no time zone"):
        publish(tmp_path, rows, "p3", "carol", dt.datetime(2025, 6, 3))
    assert read_ledger(tmp_path).height == 2, "a refused publication writes nothing"
