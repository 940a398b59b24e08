"""Proposals as files a pricing team can read, keep and sign off.

``<data_dir>/pricing/proposals/<id>.parquet`` holds one row per item, ``<id>.json`` the
proposal's status (proposed / published / rejected), objective and who published or
rejected it, ``<id>.html`` the report. Approving and rejecting go through the price
ledger (:mod:`training.pricing.actions`), which is what serving reads.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from storefront.workspace import workspace

PROPOSED, PUBLISHED = "proposed", "published"


@dataclass
class ProposalSet:
    """One day's proposal for every priced item.

    Attributes:
        proposal_id: ``<date>-<HHMMSS>`` of its creation.
        date: The day the prices are for.
        table: One row per item (see :func:`training.pricing.pipeline.propose_all`).
        meta: Status, objective, creation time, approver.
    """

    proposal_id: str
    date: dt.date
    table: pl.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def proposals_dir(data_dir: Path) -> Path:
    """Where a shop's proposals are kept."""
    return workspace(data_dir).proposals


def new_id(data_dir: Path, date: dt.date, now: dt.datetime) -> str:
    """A proposal id not used yet in ``data_dir``."""
    base = f"{date.isoformat()}-{now:%H%M%S}"
    candidate, n = base, 1
    while (proposals_dir(data_dir) / f"{candidate}.json").exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def save(proposal: ProposalSet, data_dir: Path) -> Path:
    """Write the proposal's table and status; returns the table's path."""
    folder = proposals_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{proposal.proposal_id}.parquet"
    proposal.table.write_parquet(path)
    (folder / f"{proposal.proposal_id}.json").write_text(json.dumps(proposal.meta, indent=2))
    return path


def load(data_dir: Path, proposal_id: str) -> ProposalSet:
    """A saved proposal.

    Raises:
        FileNotFoundError: No proposal with that id (the message lists the latest ones).
    """
    folder = proposals_dir(data_dir)
    meta_path = folder / f"{proposal_id}.json"
    if not meta_path.exists():
        known = sorted(p.stem for p in folder.glob("*.json"))[-5:]
        raise FileNotFoundError(
            f"proposal: no proposal {proposal_id!r} in {folder}"
            + (f"; latest: {', '.join(known)}" if known else "; run `storefront price propose`")
        )
    meta = json.loads(meta_path.read_text())
    table = pl.read_parquet(folder / f"{proposal_id}.parquet")
    return ProposalSet(proposal_id, dt.date.fromisoformat(meta["date"]), table, meta)
