"""The pricing desk's HTML: the latest proposal as a table that sorts and filters, the
actions (approve, reject, override, roll back) and the price ledger's history."""

from __future__ import annotations

from typing import Any

import polars as pl

from serving.pages.layout import card, data_json, esc, money, page, percent, table, tiles, when
from serving.pages.site import ADMIN_USER
from training.pricing.proposals import ProposalSet

PATH = "/pricing"
HISTORY_ROWS = 300
"""Ledger entries the page lists (the latest)."""
PROPOSAL_COLUMNS = [
    ("select", "✓"),
    ("item_id", "Item"),
    ("category", "Category"),
    ("current_price", "Today"),
    ("price", "Proposed"),
    ("change", "Change"),
    ("expected_profit", "Expected profit / day"),
    ("gain", "Gain / day"),
    ("elasticity", "Elasticity"),
    ("interval", "95% interval"),
    ("reasons", "Reasons"),
    ("flags", "Flags"),
    ("detail", ""),
]


def _flags(values: Any) -> str:
    return "".join(f'<span class="flag">{esc(v)}</span>' for v in values or [])


def _change(value: Any) -> str:
    tone = "good" if value > 1e-9 else "bad" if value < -1e-9 else ""
    return f'<span class="{tone}">{esc(percent(value))}</span>'


def proposal_rows(proposal: ProposalSet) -> list[dict[str, Any]]:
    """The proposal's rows as the table shows them."""
    frame = proposal.table.with_columns(gain=pl.col("expected_profit") - pl.col("current_profit"))
    rows = []
    for row in frame.iter_rows(named=True):
        flags = list(row.get("elasticity_flags") or [])
        if row.get("implausible") and "implausible_elasticity" not in row["reasons"]:
            flags.insert(0, "implausible_elasticity")
        rows.append(
            row
            | {
                "select": row["item_id"],
                "interval": f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}]",
                "flags": flags,
                "detail": row["item_id"],
            }
        )
    return rows


def _proposal_table(rows: list[dict[str, Any]], currency: str) -> str:
    cash = lambda v: esc(money(v, currency))  # noqa: E731
    formats = {
        "select": lambda v: (
            f'<input type="checkbox" class="pick" value="{esc(v)}" aria-label="Select {esc(v)}">'
        ),
        "current_price": cash,
        "price": cash,
        "change": _change,
        "expected_profit": cash,
        "gain": cash,
        "elasticity": lambda v: esc(f"{v:.2f}"),
        "reasons": _flags,
        "flags": _flags,
        "detail": lambda v: (
            f'<button class="secondary detail" data-item="{esc(v)}">Detail</button>'
        ),
    }
    return table(
        rows,
        PROPOSAL_COLUMNS,
        table_id="proposal",
        formats=formats,
        row_attrs=lambda r: (
            f'data-item="{esc(r["item_id"])}" data-category="{esc(r["category"])}"'
            f' data-flagged="{int(bool(r["flags"] or r["reasons"]))}"'
        ),
    )


def _filters(rows: list[dict[str, Any]]) -> str:
    categories = sorted({str(r["category"]) for r in rows})
    options = "".join(f'<option value="{esc(c)}">{esc(c)}</option>' for c in categories)
    return (
        '<div class="filters"><label>Category <select id="category-filter">'
        f'<option value="">all</option>{options}</select></label> '
        '<label><input type="checkbox" id="flagged-filter"> only items with reasons or flags'
        "</label></div>"
    )


def _actions(proposal: ProposalSet) -> str:
    status = str(proposal.meta.get("status"))
    return (
        f'<div class="actions" data-proposal="{esc(proposal.proposal_id)}" '
        f'data-status="{esc(status)}">'
        '<button id="approve-all">Approve all…</button> '
        '<button id="approve-selected" class="secondary">Approve selected…</button> '
        '<label>Why (to reject) <input id="reject-why" size="30"></label> '
        '<button id="reject" class="danger">Reject proposal</button></div>'
    )


def _summary(proposal: ProposalSet, currency: str) -> str:
    t = proposal.table
    profit, current = float(t["expected_profit"].sum()), float(t["current_profit"].sum())
    return tiles(
        [
            ("Items", f"{t.height:,}", f"status {proposal.meta.get('status')}"),
            ("Raised", f"{int((t['change'] > 1e-9).sum()):,}", None),
            ("Lowered", f"{int((t['change'] < -1e-9).sum()):,}", None),
            ("Expected profit / day", money(profit, currency),
             f"today's prices {money(current, currency)}"),
        ]
    )  # fmt: skip


def history_rows(entries: pl.DataFrame) -> list[dict[str, Any]]:
    """The ledger's latest entries, newest first, as the history table shows them."""
    rows = entries.tail(HISTORY_ROWS).reverse().to_dicts()
    return [r | {"at_text": when(r["at"]), "from_text": when(r["valid_from"])} for r in rows]


def history_table(entries: pl.DataFrame, currency: str) -> str:
    """Who did what to which price, when and why."""
    cash = lambda v: esc(money(v, currency))  # noqa: E731
    columns = [
        ("at_text", "Written"),
        ("kind", "Kind"),
        ("item_id", "Item"),
        ("previous_price", "Before"),
        ("price", "Price"),
        ("from_text", "In force from"),
        ("proposal_id", "Proposal"),
        ("by", "Who"),
        ("why", "Why"),
    ]
    formats = {"previous_price": cash, "price": cash}
    return table(history_rows(entries), columns, table_id="history", formats=formats)


def _rollback(entries: pl.DataFrame) -> str:
    published = entries.filter(pl.col("kind") == "publish")["proposal_id"].drop_nulls()
    latest_first = reversed(published.unique(maintain_order=True).to_list())
    options = "".join(f'<option value="{esc(p)}">{esc(p)}</option>' for p in latest_first)
    return (
        '<div class="rollback"><label>Roll back to proposal <select id="rollback-to">'
        f"{options}</select></label> "
        '<label>Why <input id="rollback-why" size="30"></label> '
        '<button id="rollback" class="danger">Roll back</button></div>'
    )


DIALOGS = (
    '<dialog id="approve-dialog"><h2>Approve these prices?</h2>'
    '<p class="note">Against the prices in force now.</p><div id="approve-diff"></div>'
    '<p class="error" role="alert"></p><button id="approve-confirm">Approve</button> '
    '<button id="approve-cancel" class="secondary">Cancel</button></dialog>'
    '<dialog id="item-dialog"><div id="item-head"></div>'
    '<div class="grid"><div id="chart-curve"></div><div id="chart-fan"></div></div>'
    '<div class="override"><label>New price <input id="override-price" type="number" '
    'step="0.01" min="0.01"></label> <label>Why <input id="override-why" size="30"></label> '
    '<button id="override">Override</button><p class="error" role="alert"></p></div>'
    '<div id="item-history"></div><button id="item-close" class="secondary">Close</button>'
    "</dialog>"
)


def render(proposal: ProposalSet | None, entries: pl.DataFrame, currency: str) -> str:
    """The whole desk."""
    who = (
        '<p class="card">Acting as <input id="acting-by" value="'
        + esc(ADMIN_USER)
        + '" size="16" aria-label="Who"> (recorded in the ledger) '
        '<span id="pricing-status" role="status"></span></p>'
    )
    if proposal is None:
        body = card("No proposal", '<p class="note">Run <code>storefront price propose</code>.</p>')
        subtitle = "no proposal yet"
    else:
        rows = proposal_rows(proposal)
        body = _summary(proposal, currency) + card(
            f"Proposal {proposal.proposal_id} for {proposal.date}",
            _actions(proposal) + _filters(rows) + _proposal_table(rows, currency),
            "Reasons: the guardrails that kept a better price out of reach; flags: why an "
            "elasticity was not trusted. Expected profit at the proposed price, per day.",
        )
        subtitle = (
            f"objective {proposal.meta.get('objective')} · created "
            f"{proposal.meta.get('created_at', '–')} · amounts in {currency or 'the shop currency'}"
        )
    body += card("Price ledger", _rollback(entries) + history_table(entries, currency))
    config = (
        f'<script type="application/json" id="pricing-data">{data_json({"currency": currency})}'
    )
    body += DIALOGS + config + "</script>"
    return page(
        "Pricing desk",
        who + body,
        active=PATH,
        subtitle=subtitle,
        scripts=["pricing.js"],
        styles=["pricing.css"],
    )
