"""Settings of ``storefront retrain`` and ``storefront scheduler`` (``configs/retrain.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from storefront.config import Settings

Family = Literal["recommender", "demand", "elasticity"]
FAMILIES: tuple[Family, ...] = ("recommender", "demand", "elasticity")
"""Every model family, in the order a retrain runs them (pricing reads the last two)."""


class ServiceSettings(Settings):
    """The running service a retrain tells to reload."""

    url: str | None = "http://127.0.0.1:3000"
    """Base URL of the service (``null``: never tell one)."""
    timeout_seconds: float = Field(default=300.0, gt=0)
    """How long a reload may take (it rebuilds the service's whole state)."""


class ScheduleSettings(Settings):
    """When ``storefront scheduler`` runs what (cron expressions: minute hour day month
    weekday, or with a leading seconds field)."""

    retrain: str = "30 3 * * *"
    """The whole retrain (default every day at 03:30)."""
    features: str | None = "0 * * * *"
    """An incremental ``features build`` between retrains (default hourly; ``null``:
    never)."""
    timezone: str = "UTC"
    misfire_grace_seconds: int = Field(default=3600, ge=1)
    """A run missed (the machine slept, or the previous run was still going) still
    starts if this late; later ones are skipped to the next time."""

    @field_validator("retrain", "features")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        fields = value.split()
        if len(fields) not in (5, 6):
            raise ValueError(
                f"{value!r} is not a cron expression (5 fields: minute hour day month "
                "weekday; or 6 with a leading seconds field)"
            )
        if any(c.isdigit() for c in fields[-1]):
            raise ValueError(
                f"{value!r}: name the weekdays (mon-fri, sun): cron counts 0 as Sunday, "
                "the scheduler as Monday, so a number would run on another day"
            )
        return value


class RetrainConfig(Settings):
    """The learning loop."""

    families: list[Family] = Field(default_factory=lambda: list(FAMILIES), min_length=1)
    """The model families a retrain trains, gates and promotes."""
    fold_events: bool = True
    """Fold the service's acknowledged events into the events feed first."""
    events_url: str | None = None
    """The service's event log (SQLAlchemy URL); ``null``: the shop's
    ``state/serving/events.db``."""
    recommender_config: str = "recommender"
    """The recommender's training configuration: a stem in ``configs/``
    (``recommender.quickstart`` for the quick one) or a YAML file's path."""
    experiment: str = "retrain"
    """MLflow experiment of the retrain runs (one parent run, a child per step)."""
    service: ServiceSettings = ServiceSettings()
    schedule: ScheduleSettings = ScheduleSettings()
