"""Figures as text, the same on the dashboard and in the console: money with two
decimals (after the shop's currency, when it has one), counts with thousands
separators, shares as percentages, changes as ``+12.3%`` or ``+0.4 pt``."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpi.sources import Freshness

DASH = "–"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def value_text(kind: str, value: object, currency: str = "") -> str:
    """``value`` of a figure of ``kind`` (``money``, ``count``, ``percent``) as text."""
    if _missing(value):
        return DASH
    number = float(value)  # type: ignore[arg-type]
    if kind == "money":
        return f"{currency}{number:,.2f}" if currency else f"{number:,.2f}"
    if kind == "percent":
        return f"{100 * number:.1f}%"
    if kind == "count":
        return f"{round(number):,}"
    return f"{number:,.2f}"


def change_text(kind: str, change: object) -> str:
    """A change as the headline shows it: points for shares, per cent for the rest."""
    if _missing(change):
        return DASH
    number = float(change)  # type: ignore[arg-type]
    if kind == "percent":
        return f"{100 * number:+.1f} pt"
    return f"{100 * number:+.1f}%"


def change_class(change: object, higher_is_better: bool) -> str:
    """``good``, ``bad`` or ``""`` (no change, or unknown) for a change's colour."""
    if _missing(change) or float(change) == 0:  # type: ignore[arg-type]
        return ""
    up = float(change) > 0  # type: ignore[arg-type]
    return "good" if up == higher_is_better else "bad"


def moment_text(moment: dt.datetime | None) -> str:
    """``2026-12-02 10:15 UTC``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else DASH


def interval_text(low: object, high: object) -> str:
    """``0.91 – 1.24``, or a dash when either end is unknown."""
    if _missing(low) or _missing(high):
        return DASH
    return f"{float(low):.2f} – {float(high):.2f}"  # type: ignore[arg-type]


def freshness_lines(fresh: Freshness) -> list[str]:
    """Where the events came from and how recent they are, as sentences."""
    lines = [
        f"data through {moment_text(fresh.last_event)}",
        f"events feed: {fresh.feed_events:,} events, the last at "
        f"{moment_text(fresh.feed_last_event)} (written {moment_text(fresh.feed_written_at)})",
    ]
    if fresh.service_note:
        lines.append(f"service's event log: {fresh.service_note}")
    else:
        lines.append(
            f"service's event log: {fresh.service_events:,} events, the last at "
            f"{moment_text(fresh.service_last_event)} (received "
            f"{moment_text(fresh.service_last_received)}); {fresh.duplicates:,} also in the feed, "
            "counted once"
        )
    return lines
