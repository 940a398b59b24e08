"""Shopper behaviour: lifecycle stages and the win-back list, segments as shoppers
entered the period, new against returning buyers, the funnel."""

from __future__ import annotations

import datetime as dt

import pytest

from features.config import UserFeatureConfig
from kpi.breakdowns import by_segment
from kpi.figures import prepare, summarise
from kpi.periods import Period
from kpi.shoppers import funnel, lifecycle, new_vs_returning, segments_on, snapshots, win_back
from tests.kpi.frames import DAY, catalog, events

PERIOD = Period(DAY + dt.timedelta(days=101), DAY + dt.timedelta(days=120))
"""Days 101-120; the previous period is days 81-100."""
ROWS = [
    ("dormant", "s1", "a", "view", 0, 1, 10.0),  # nothing since day 0
    ("risk", "s2", "a", "view", 0, 1, 10.0),
    ("risk", "s3", "a", "view", 70, 1, 10.0),  # last seen 50 days before the end
    ("active", "s4", "a", "view", 0, 1, 10.0),
    ("active", "s5", "a", "view", 110, 1, 10.0),
    ("active", "s5", "a", "add_to_cart", 110, 1, 10.0),
    ("active", "s5", "a", "purchase", 110, 1, 10.0),  # the first purchase, in the period
    ("new", "s6", "b", "view", 115, 1, 5.0),  # first seen 5 days before the end
    ("buyer", "s7", "b", "purchase", 95, 1, 5.0),  # bought first in the previous period
    ("buyer", "s8", "c", "view", 105, 1, 3.0),
    ("buyer", "s8", "c", "purchase", 105, 2, 3.0),  # and again in this one
]


@pytest.fixture(scope="module")
def snaps():
    days = [
        PERIOD.previous().since - dt.timedelta(days=1),
        PERIOD.since - dt.timedelta(days=1),
        PERIOD.until,
    ]
    return snapshots(events(ROWS), catalog(), days, UserFeatureConfig())


def test_lifecycle_stages_and_the_win_back_list_at_each_periods_end(snaps) -> None:
    stages = lifecycle(snaps, PERIOD, ["at_risk", "dormant"])
    now = dict(zip(stages["stage"], stages["shoppers"], strict=True))
    before = dict(zip(stages["stage"], stages["shoppers_previous"], strict=True))
    assert now == {"new": 1, "active": 2, "at_risk": 1, "dormant": 1}
    # at day 100: 'risk' was seen 30 days before (active), 'active' 100 days (dormant),
    # 'buyer' 5 days after its first visit (new), 'new' not yet
    assert before == {"new": 1, "active": 1, "at_risk": 0, "dormant": 2}
    assert win_back(stages) == {"current": 2, "previous": 2}
    assert stages.filter(stages["win_back"])["stage"].to_list() == ["at_risk", "dormant"]


def test_segments_are_the_ones_shoppers_entered_the_period_with(snaps) -> None:
    entering = segments_on(snaps, PERIOD.since - dt.timedelta(days=1))
    got = dict(zip(entering["user_id"], entering["rfm_segment"], strict=True))
    assert got["buyer"] == "new"  # one recent purchase
    assert got["active"] == "prospect" and "new" not in got  # no purchase yet; not seen yet
    prepared = prepare(events(ROWS), catalog())
    table = by_segment(
        prepared,
        PERIOD,
        {
            PERIOD.since: entering,
            PERIOD.previous().since: segments_on(
                snaps, PERIOD.previous().since - dt.timedelta(days=1)
            ),
        },
    )
    rows = {r["rfm_segment"]: r for r in table.to_dicts()}
    assert rows["new"]["gmv"] == 6.0 and rows["prospect"]["gmv"] == 10.0
    total = summarise(prepared.filter(PERIOD.contains(prepared["timestamp"])))["gmv"][0]
    assert table["gmv"].sum() == total
    assert rows["prospect"]["gmv_previous"] == 5.0  # 'buyer' was unknown before day 81


def test_new_buyers_made_their_first_purchase_in_the_period() -> None:
    prepared = prepare(events(ROWS), catalog())
    table = {r["kind"]: r for r in new_vs_returning(prepared, PERIOD).to_dicts()}
    assert (table["new"]["buyers"], table["new"]["gmv"]) == (1, 10.0)  # 'active'
    assert (table["returning"]["buyers"], table["returning"]["gmv"]) == (1, 6.0)  # 'buyer'
    assert table["new"]["share_of_gmv"] == pytest.approx(10 / 16)
    assert table["new"]["buyers_previous"] == 1 and table["returning"]["buyers_previous"] == 0


def test_the_funnel_counts_sessions_at_each_step() -> None:
    prepared = prepare(events(ROWS), catalog())
    steps = {r["step"]: r for r in funnel(prepared, PERIOD).to_dicts()}
    # this period: sessions s5 (view, cart, buy), s6 (view), s8 (view, buy)
    assert [steps[s]["sessions"] for s in ("view", "add_to_cart", "purchase")] == [3, 1, 2]
    assert steps["add_to_cart"]["step_rate"] == pytest.approx(1 / 3)
    assert steps["purchase"]["step_rate"] == pytest.approx(2.0)  # steps need not nest
    assert steps["purchase"]["share"] == pytest.approx(2 / 3)
    assert steps["purchase"]["sessions_previous"] == 1 and steps["view"]["sessions_previous"] == 0
