"""The pricing desk against a real server on its own copy of the shop (the desk writes
the ledger other serving tests read): a real proposal, the JSON calls' refusals, and a
real browser approving a selection, overriding and rolling back, read back from the
ledger with the library."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from jobs import pricing
from tests.serving.client import ADMIN, Server, TrainedShop, call, get
from tests.serving.pages.browser import rendered_charts, visit
from training.elasticity.config import ElasticityConfig
from training.elasticity.pipeline import train_elasticity
from training.pricing.actions import item_state_at
from training.pricing.config import PricingConfig
from training.pricing.guardrails import candidates, manual_violations
from training.pricing.ledger import prices_in_force, read_ledger

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WHO = "desk-tester"


@dataclasses.dataclass(frozen=True)
class Desk:
    server: Server
    data_dir: Path
    proposal: pricing.ProposalJob
    items: list[str]
    """Items of the proposal the fixture shop did not price before."""


@pytest.fixture(scope="module")
def desk(trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A copy of the serving shop with elasticities, a proposal and its own server."""
    folder = tmp_path_factory.mktemp("pricing-desk")
    copy = folder / "feeds"
    shutil.copytree(trained_shop.data_dir, copy)
    train_elasticity(copy, ElasticityConfig(rounds=30))
    job = pricing.propose(copy)
    untouched = [i for i in job.proposal.table["item_id"]
                 if i not in (trained_shop.published_item, trained_shop.pending_item)]  # fmt: skip
    assert len(untouched) >= 3, job.proposal.table
    shop = dataclasses.replace(trained_shop, data_dir=copy)
    server = Server(shop, folder / "server.log").start()
    try:
        yield Desk(server, copy, job, untouched)
    finally:
        server.kill(signal.SIGTERM)


def _allowed_other(data_dir: Path, item: str) -> float:
    """A price a person may set for ``item`` now, other than the one in force."""
    state = item_state_at(data_dir, item, dt.datetime.now(dt.UTC))
    cfg = PricingConfig()
    options = [float(p) for p in candidates(state, cfg)
               if not manual_violations(float(p), state, cfg)
               and abs(p - state.current_price) > 0.005]  # fmt: skip
    assert options, state
    return options[0]


def test_an_anonymous_browser_and_call_are_refused(desk: Desk, browser: Any) -> None:
    status, body = get(desk.server.base, "/pricing")
    assert status == 401 and 'id="login"' in body and "proposal" not in body.lower()
    tab = visit(browser, desk.server.base, admin=False)
    answer = tab.open("/pricing")
    assert answer.status == 401
    assert tab.tab.locator("form#login").count() == 1
    assert tab.tab.locator("#proposal").count() == 0
    item = desk.items[0]
    proposal_id = desk.proposal.proposal_id
    bodies = {
        "/pricing/override": {"item_id": item, "price": 9.99, "why": "x"},
        "/pricing/approve": {"proposal_id": proposal_id},
        "/pricing/rollback": {"to": proposal_id, "why": "x"},
    }
    for path, body in bodies.items():
        status, answer = call(desk.server.base, path, body)
        assert status == 401 and answer["fields"] == ["x-api-key"], (path, answer)
    assert get(desk.server.base, f"/pricing/items/{item}")[0] == 401
    assert read_ledger(desk.data_dir).filter(pl.col("by") == WHO).is_empty()


def test_bad_bodies_and_unknown_names_are_refused_naming_the_field(desk: Desk) -> None:
    before = read_ledger(desk.data_dir).height
    base, item = desk.server.base, desk.items[0]
    cases = [
        ("/pricing/override", {"item_id": item, "price": "cheap", "why": "x"}, 422, ["price"]),
        ("/pricing/override", {"item_id": item, "price": 9.99}, 422, ["why"]),
        ("/pricing/override", {"item_id": item, "price": 9.99, "why": "  "}, 422, ["why"]),
        ("/pricing/override", {"item_id": "no-such-item", "price": 9.99, "why": "x"}, 422,
         ["item_id"]),
        ("/pricing/approve", {"proposal_id": "1999-01-01-000000"}, 404, ["proposal_id"]),
        ("/pricing/approve", {"proposal_id": desk.proposal.proposal_id, "items": ["nope"]}, 422,
         ["items"]),
        ("/pricing/approve", {"proposal_id": "../../x"}, 422, ["proposal_id"]),
        ("/pricing/reject", {"proposal_id": desk.proposal.proposal_id}, 422, ["why"]),
        ("/pricing/rollback", {"to": "never-published", "why": "x"}, 422, ["to"]),
        ("/pricing/diff", {"proposal_id": desk.proposal.proposal_id, "extra": 1}, 422, ["extra"]),
    ]  # fmt: skip
    for path, body, status, fields in cases:
        code, answer = call(base, path, body, ADMIN)
        assert (code, answer["fields"]) == (status, fields), (path, body, answer)
        assert isinstance(answer["error"], str) and answer["error"]
    assert get(base, "/pricing/items/no-such-item", ADMIN)[0] == 404
    assert read_ledger(desk.data_dir).height == before, "a refusal writes nothing"


def test_a_guardrail_refusal_names_the_price_and_the_rule(desk: Desk) -> None:
    before = read_ledger(desk.data_dir).height
    item = desk.items[0]
    body = {"item_id": item, "price": 99_999.99, "why": "too much", "by": WHO}
    code, answer = call(desk.server.base, "/pricing/override", body, ADMIN)
    assert code == 422 and answer["fields"] == ["price"], answer
    assert "max_daily_change" in answer["detail"]["rules"] and answer["detail"]["item_id"] == item
    assert "max_daily_change" in answer["error"]
    assert read_ledger(desk.data_dir).height == before


def _ledger(data_dir: Path, kind: str) -> pl.DataFrame:
    return read_ledger(data_dir).filter((pl.col("kind") == kind) & (pl.col("by") == WHO))


@pytest.mark.screenshots  # also takes the README's picture of the desk
def test_the_desk_approves_overrides_and_rolls_back_through_the_page(
    desk: Desk, browser: Any
) -> None:
    tab = visit(browser, desk.server.base)
    # the service has no favicon (no page kit file of this test's to add one)
    tab.tab.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    failed: list[str] = []
    tab.tab.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    _work_the_desk(tab, desk)
    assert failed == [desk.server.base + "/pricing/override"], failed  # the refusal only
    assert tab.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ], tab.errors  # the refusal's, nothing else
    assert not tab.outside, tab.outside


def _work_the_desk(tab: Any, desk: Desk) -> None:
    data_dir, proposal_id = desk.data_dir, desk.proposal.proposal_id
    table = desk.proposal.proposal.table
    chosen, item = desk.items[:2], desk.items[0]
    assert tab.open("/pricing").status == 200
    page = tab.tab
    assert page.locator("#proposal tbody tr").count() == table.height
    page.fill("#acting-by", WHO)

    # item detail: the expected-profit curve and the forecast fan
    page.click(f'button.detail[data-item="{item}"]')
    page.wait_for_selector("#chart-fan .main-svg", timeout=10_000)
    assert rendered_charts(page) == 2
    if folder := os.environ.get("STOREFRONT_SCREENSHOTS"):  # the README's picture
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "pricing.png"), full_page=True)
    page.click("#item-close")

    # approve a selection after the confirmation with the diff
    for picked in chosen:
        page.check(f'input.pick[value="{picked}"]')
    page.click("#approve-selected")
    page.wait_for_selector("#approve-table tbody tr")
    assert page.locator("#approve-table tbody tr").count() == 2
    page.click("#approve-confirm")
    page.wait_for_selector("#pricing-status.good:has-text('published 2 prices')")
    published = _ledger(data_dir, "publish")
    assert sorted(published["item_id"]) == sorted(chosen)
    assert set(published["proposal_id"]) == {proposal_id}
    proposed = dict(table.select("item_id", "price").iter_rows())
    assert dict(published.select("item_id", "price").iter_rows()) == {
        i: proposed[i] for i in chosen
    }

    # override one of them by hand (a guardrail refusal first, shown with its reason)
    page.fill("#acting-by", WHO)
    page.click(f'button.detail[data-item="{item}"]')
    page.fill("#override-price", "99999.99")
    page.fill("#override-why", "a typo")
    page.click("#override")
    page.wait_for_selector("#item-dialog .override .error:has-text('max_daily_change')")
    assert _ledger(data_dir, "override").is_empty()
    price = _allowed_other(data_dir, item)
    page.fill("#override-price", f"{price:.2f}")
    page.fill("#override-why", "match the competitor")
    page.click("#override")
    page.wait_for_selector(f"#pricing-status.good:has-text('set {item}')")
    override = _ledger(data_dir, "override").row(0, named=True)
    assert (override["item_id"], override["price"]) == (item, price)
    assert override["why"] == "match the competitor"
    assert override["previous_price"] == proposed[item]

    # roll back to the proposal: the override is undone
    page.fill("#acting-by", WHO)
    page.select_option("#rollback-to", proposal_id)
    page.fill("#rollback-why", "the override was a test")
    page.click("#rollback")
    page.wait_for_selector("#pricing-status.good:has-text('rolled back')")
    rolled = _ledger(data_dir, "rollback")
    assert rolled.filter(pl.col("item_id") == item)["price"].to_list() == [proposed[item]]
    assert set(rolled["why"]) == {"the override was a test"}
    in_force = prices_in_force(data_dir, dt.datetime.now(dt.UTC))
    assert in_force.filter(pl.col("item_id") == item)["price"].item() == proposed[item]
    history = page.locator("#history tbody tr").first
    assert "rollback" in history.inner_text() and WHO in history.inner_text()
