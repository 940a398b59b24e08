"""KPIs of a date range (``storefront kpi``): the same figures as the dashboard, from the
shop's feeds and the service's event log."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jobs.shop import open_shop
from kpi.report import DEFAULT_WIN_BACK, KpiReport, KpiSettings, build_report
from kpi.sources import default_events_url, load_shop
from storefront.config import load_config
from storefront.progress import progress_bar
from storefront.workspace import Workspace

SERVING_CONFIG_ENV = "STOREFRONT_SERVING_CONFIG"
"""The serving YAML ``storefront serve --config`` names (the service reads it too)."""


class _Profile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    win_back_stages: list[str] = Field(default_factory=lambda: list(DEFAULT_WIN_BACK))


class _EventsSection(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str | None = None


class _ServingView(BaseModel):
    """The keys of the serving YAML the KPIs share with the service: the features YAML
    it reads (``features_config``), where its event log is (``events.url``) and which
    lifecycle stages are the win-back list (``profile.win_back_stages``); every other
    key is the service's business."""

    model_config = ConfigDict(extra="ignore")
    features_config: str | None = None
    events: _EventsSection = Field(default_factory=_EventsSection)
    profile: _Profile = Field(default_factory=_Profile)


def settings(serving_config: Path | None = None) -> tuple[KpiSettings, str | None]:
    """The KPI settings from ``configs/features.yaml``, ``configs/inventory.yaml`` and
    the serving YAML (``serving_config``, else ``$STOREFRONT_SERVING_CONFIG``, else
    ``configs/serving.yaml``: its ``features_config`` and win-back stages); and the
    event log URL that YAML names, if any."""
    given = serving_config or os.environ.get(SERVING_CONFIG_ENV)
    serving = load_config(_ServingView, given, name="serving")
    found = KpiSettings.load(serving.features_config, None, serving.profile.win_back_stages)
    return found, serving.events.url


def _experiments(folder: Path) -> list[dict[str, Any]]:
    """The running experiments of the shop's store (none when it has no store yet: the
    embedded one is not created by reading)."""
    from experiments.config import load_settings
    from experiments.store import ExperimentStore
    from kpi.marketing import running_experiments

    exp_settings = load_settings()
    if exp_settings.db_url:
        return running_experiments(ExperimentStore(exp_settings.db_url), exp_settings)
    if not Workspace(folder).experiments_db.exists():
        return []
    return running_experiments(ExperimentStore.open(folder, exp_settings), exp_settings)


def kpi_report(
    data_dir: Path | None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: str = "day",
    events_url: str | None = None,
    serving_config: Path | None = None,
) -> KpiReport:
    """The KPIs of ``since`` – ``until`` (default: the last 28 days of data) beside the
    previous period, from the shop's feeds and the service's event log.

    Args:
        data_dir: The shop folder (default: the default shop).
        since: First day (UTC), included.
        until: Last day (UTC), included.
        by: ``day`` or ``week``.
        events_url: The service's event log (default: the serving YAML's
            ``events.url``, else the shop's own ``state/serving/events.db``).
        serving_config: The serving YAML (see :func:`settings`).
    """
    folder = open_shop(data_dir)
    found, configured_url = settings(serving_config)
    url = events_url or configured_url or default_events_url(folder)
    with progress_bar("reading the feeds and the service's event log", None):
        data = load_shop(folder, url)
    with progress_bar("computing the KPIs", None):
        return build_report(data, since, until, by, found, lambda: _experiments(folder))
