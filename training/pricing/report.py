"""The proposal's HTML report: what changes and why, elasticity with its interval by
category, the expected-profit curve over price with the chosen point, forecast fans."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from storefront.plots import plt, png_img
from training.demand.forecast import read_forecasts
from training.demand.pipeline import read_demand
from training.pricing.config import PricingConfig
from training.pricing.guardrails import candidates, violations
from training.pricing.inputs import KEEP
from training.pricing.pipeline import item_state
from training.pricing.proposals import ProposalSet, proposals_dir

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}.up{color:#a33}.down{color:#286}
img{max-width:100%}"""


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = "".join(
            f"<td>{v:,.2f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def summary(table: pl.DataFrame) -> pl.DataFrame:
    """Counts of moves and the expected profit against keeping today's prices."""
    profit, current = table["expected_profit"].sum(), table["current_profit"].sum()
    return pl.DataFrame(
        {
            "figure": ["items", "raised", "lowered", "unchanged", "exploring",
                       "expected profit", "profit at today's prices", "expected change"],
            "value": [
                f"{table.height:,}",
                f"{(table['change'] > 1e-9).sum():,}",
                f"{(table['change'] < -1e-9).sum():,}",
                f"{(table['change'].abs() <= 1e-9).sum():,}",
                f"{table['exploration'].sum():,}",
                f"{profit:,.2f}",
                f"{current:,.2f}",
                f"{profit / current - 1:+.2%}" if current else "n/a",
            ],
        }
    )  # fmt: skip


def implausible_items(table: pl.DataFrame) -> pl.DataFrame:
    """Items whose own elasticity was implausible: why, and what they were priced on
    (their category's estimate, or today's price kept)."""
    if "implausible" not in table.columns:
        return pl.DataFrame({"item_id": [], "flags": []}, schema={"item_id": pl.String,
                                                                  "flags": pl.String})  # fmt: skip
    kept = pl.col("elasticity_source") == KEEP
    return table.filter(pl.col("implausible")).select(
        "item_id", "category",
        pl.col("item_elasticity").alias("own elasticity"),
        pl.col("elasticity_flags").list.join(", ").alias("flags"),
        pl.when(kept).then(pl.lit("today's price kept"))
        .otherwise(pl.format("category's {}", pl.col("elasticity").round(2))).alias("priced on"),
        "current_price", "price",
    )  # fmt: skip


def _implausible_first(frame: pl.DataFrame) -> pl.DataFrame:
    if "implausible" not in frame.columns:
        return frame
    return frame.sort(pl.col("implausible"), descending=True, maintain_order=True)


def reason_counts(table: pl.DataFrame) -> pl.DataFrame:
    """How many items each guardrail (or exploration) held back."""
    return (
        table.select(pl.col("reasons").explode().alias("reason"))
        .drop_nulls()
        .group_by("reason")
        .len("items")
        .sort("items", descending=True)
    )


def elasticity_by_category(table: pl.DataFrame) -> pl.DataFrame:
    """Median elasticity and interval per category."""
    return (
        table.group_by("category")
        .agg(
            pl.len().alias("items"),
            pl.col("elasticity").median().alias("median elasticity"),
            pl.col("ci_low").median().alias("median ci_low"),
            pl.col("ci_high").median().alias("median ci_high"),
            pl.col("change").mean().alias("mean change"),
        )
        .sort("category")
    )


def _elasticity_plot(table: pl.DataFrame) -> Any:
    rows = table.sort("category", "elasticity")
    fig, ax = plt.subplots(figsize=(10, 3.5))
    x = np.arange(rows.height)
    ax.vlines(x, rows["ci_low"], rows["ci_high"], color="0.8", linewidth=0.5)
    codes = rows["category"].rank("dense").to_numpy()
    ax.scatter(x, rows["elasticity"], s=4, c=codes, cmap="tab10")
    ax.set_xlabel("items, grouped by category")
    ax.set_ylabel("elasticity (95% interval)")
    fig.tight_layout()
    return fig


def _profit_curve(row: dict[str, Any], cfg: PricingConfig) -> Any:
    item = item_state(row)
    grid = np.linspace(0.6, 1.4, 81) * item.current_price
    units = row["current_units"] * (grid / item.current_price) ** row["elasticity"]
    profit = (grid - (item.unit_cost or 0.0)) * units
    allowed = [p for p in candidates(item, cfg) if not violations(p, item, cfg)]
    fig, ax = plt.subplots(figsize=(4.2, 3))
    ax.plot(grid, profit, color="0.3")
    if allowed:
        ax.axvspan(min(allowed), max(allowed), color="#cde", label="allowed today")
    ax.axvline(item.current_price, color="0.6", linestyle=":", label="today")
    ax.scatter([row["price"]], [row["expected_profit"]], color="#c33", zorder=3, label="proposed")
    ax.set_title(f"{item.item_id} (e = {row['elasticity']:.2f})", fontsize=9)
    ax.set_xlabel("price")
    ax.set_ylabel("expected profit / day")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _fan(item_id: str, history: pl.DataFrame, ahead: pl.DataFrame) -> Any:
    past = history.filter(pl.col("item_id") == item_id).group_by("period_start").agg(
        pl.col("units").sum()
    ).sort("period_start").tail(56)  # fmt: skip
    future = ahead.filter(pl.col("item_id") == item_id).group_by("period_start").agg(
        pl.col("forecast", "p10", "p90").sum()
    ).sort("period_start")  # fmt: skip
    fig, ax = plt.subplots(figsize=(4.2, 3))
    ax.plot(past["period_start"], past["units"], color="0.3", linewidth=0.8, label="sold")
    ax.fill_between(future["period_start"], future["p10"], future["p90"], color="#cde",
                    label="P10–P90")  # fmt: skip
    ax.plot(future["period_start"], future["forecast"], color="#36c", label="forecast")
    ax.set_title(f"{item_id}: demand at today's price", fontsize=9)
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_report(
    proposal: ProposalSet, data_dir: Path, cfg: PricingConfig, examples: int = 6
) -> Path:
    """Write ``<id>.html`` beside the proposal; returns its path."""
    table = proposal.table
    top = table.with_columns(gain=pl.col("expected_profit") - pl.col("current_profit")).sort(
        "gain", descending=True
    ).head(examples)  # fmt: skip
    history, ahead = read_demand(data_dir), read_forecasts(data_dir)
    curves = "".join(png_img(_profit_curve(row, cfg)) for row in top.iter_rows(named=True))
    fans = "".join(png_img(_fan(item, history, ahead)) for item in top["item_id"])
    changed = _implausible_first(table.filter(pl.col("change").abs() > 1e-9).sort(
        pl.col("change").abs(), descending=True
    ).head(50))  # fmt: skip
    listing = changed.select(
        "item_id", "category", "current_price", "price",
        pl.format("{}%", (pl.col("change") * 100).round(1)).alias("change"),
        "expected_units", "expected_profit", "elasticity", "ci_low", "ci_high", "was_price",
        pl.col("reasons").list.join(", ").alias("reasons"),
    )  # fmt: skip
    body = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Price proposal {html.escape(proposal.proposal_id)}</title><style>{STYLE}</style></head>
<body><h1>Price proposal {html.escape(proposal.proposal_id)}</h1>
<p>Prices for <b>{proposal.date}</b>, objective <b>{html.escape(cfg.objective)}</b>,
status <b>{html.escape(str(proposal.meta.get("status")))}</b>. Publish with
<code>storefront price approve {html.escape(proposal.proposal_id)}</code>.</p>
{_table(summary(table))}
<h2>Implausible elasticities (never priced on; listed first)</h2>
{_table(implausible_items(table))}
<h2>Guardrails that held prices back</h2>{_table(reason_counts(table))}
<h2>Elasticity by category</h2>{png_img(_elasticity_plot(table))}
{_table(elasticity_by_category(table))}
<h2>Expected profit over price (largest expected gains)</h2>{curves}
<h2>Forecast fans</h2>{fans}
<h2>Largest changes</h2>{_table(listing)}
</body></html>"""
    path = proposals_dir(data_dir) / f"{proposal.proposal_id}.html"
    path.write_text(body)
    return path
