"""The algorithm audit of a date range (``storefront audit``): price parity, lawful
reference prices, exposure fairness of recommendations and privacy (:mod:`audit`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from audit.report import AuditReport, build_report
from jobs.shop import open_shop
from storefront.progress import progress_bar
from storefront.workspace import Workspace

__all__ = ["AuditReport", "audit_report", "experiment_engine"]


def experiment_engine(folder: Path, url: str | None = None) -> sa.Engine | None:
    """The experiment store's database (``url``, else the settings' ``db_url``, else the
    shop's embedded file; ``None`` when that file does not exist yet: reading never
    creates it)."""
    from experiments.config import load_settings

    url = url or load_settings().db_url
    if url:
        return sa.create_engine(url)
    path = Workspace(folder).experiments_db
    return sa.create_engine(f"sqlite:///{path}") if path.exists() else None


def audit_report(
    data_dir: Path | None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    events_url: str | None = None,
    experiments_url: str | None = None,
) -> AuditReport:
    """Audit the service's records of ``since`` – ``until`` (UTC days, both included).

    Args:
        data_dir: The shop folder (default: the default shop).
        since: First day, default: the first record.
        until: Last day, default: the last record.
        events_url: The service's event log (default: the shop's ``events.db``).
        experiments_url: The experiment store (default: the experiments settings').
    """
    folder = open_shop(data_dir)
    engine = experiment_engine(folder, experiments_url)
    try:
        with progress_bar("auditing the service's records", None):
            return build_report(folder, engine, events_url, since, until)
    finally:
        if engine is not None:
            engine.dispose()
