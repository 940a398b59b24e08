"""Experiment definitions (``configs/experiments/*.yaml``) and the library's settings.

An experiment names the surface it changes, the unit it randomises (shopper, session,
item or time slice), its variants with their weights and what each one changes, the
metric it is judged on and the guardrails it must not break. Validation refuses what
would make the results untrustworthy: weights that do not sum to 1, fewer than two
variants, and price experiments randomised by shopper (one price per item per moment
for every shopper).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from experiments.stats.power import sample_size
from storefront.config import (
    ConfigError,
    Settings,
    field_keys,
    load_config,
    unknown_key_message,
)

Surface = Literal["home_feed", "similar_items", "bought_together", "pricing"]
Unit = Literal["shopper", "session", "item", "time_slice"]
MetricName = Literal[
    "click_through",
    "add_to_cart_rate",
    "conversion",
    "revenue_per_unit",
    "average_order_value",
    "profit_per_unit",
    "latency_ms",
    "error_rate",
]
PRICE_UNITS: tuple[Unit, ...] = ("item", "time_slice")
WEIGHT_TOLERANCE = 1e-6
NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


class Variant(Settings):
    """One arm of an experiment: its share of the units and what it changes."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    weight: float = Field(gt=0, le=1)
    model_alias: str | None = None
    strategy: str | None = None
    business_rules: dict[str, Any] = Field(default_factory=dict)
    pricing_policy: str | None = None


class Design(Settings):
    """The planned sample, as ``storefront experiments size`` computes it from the primary
    metric's baseline and the smallest relative effect worth detecting.

    The units per variant follow :func:`experiments.stats.power.sample_size` with the
    experiment's weights and the library's α; the verdict waits for them (unless the
    always-valid sequential test decides first).
    """

    model_config = ConfigDict(frozen=True)

    baseline: float = Field(gt=0)
    """The control's primary metric: a rate in (0, 1), or a mean with ``sd``."""
    mde: float
    """Minimum detectable effect, relative (0.05 = +5%)."""
    sd: float | None = Field(default=None, gt=0)
    """Per-unit standard deviation of a mean metric; ``None`` for a rate."""
    power: float = Field(default=0.8, gt=0, lt=1)
    """Chance to detect an effect of ``mde``."""

    @model_validator(mode="after")
    def _sizable(self) -> Design:
        sample_size(self.baseline, self.mde, sd=self.sd, power=self.power)  # ValueError if not
        return self


class GuardrailBudgets(Settings):
    """Absolute limits of the service's latency per arm, in milliseconds (e.g.
    ``latency_p99_ms: 50`` reads "p99 <= 50 ms"). A budgeted latency guardrail is
    breached only when a treatment's quantile over its exposures exceeds the limit; the
    relative comparison with the control is still reported, as information."""

    model_config = ConfigDict(frozen=True)

    latency_p50_ms: float | None = Field(default=None, gt=0)
    """Limit of the median latency."""
    latency_p95_ms: float | None = Field(default=None, gt=0)
    """Limit of the 95th-percentile latency."""
    latency_p99_ms: float | None = Field(default=None, gt=0)
    """Limit of the 99th-percentile latency."""

    def limits(self) -> dict[str, tuple[float, float]]:
        """Budget name → (quantile, limit in ms), for the budgets that are set."""
        quantiles = {"latency_p50_ms": 0.5, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}
        return {
            name: (q, float(limit))
            for name, q in quantiles.items()
            if (limit := getattr(self, name)) is not None
        }


class Experiment(Settings):
    """An A/B test. The first variant is the control unless ``control`` names another.

    Mutual exclusion: experiments that share a ``layer`` split that layer's bucket
    space; each takes the interval ``layer_range`` (a unit falls in at most one of them
    when the intervals do not overlap, which the store and the assigner check). An
    experiment alone in its layer may still use a part of the traffic, e.g. ``[0, 0.1)``.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    surface: Surface
    unit: Unit
    slice_minutes: int | None = Field(default=None, validate_default=True)
    salt: str | None = Field(default=None, validate_default=True)
    layer: str | None = Field(default=None, validate_default=True)
    layer_range: tuple[float, float] = (0.0, 1.0)
    variants: list[Variant]
    control: str | None = Field(default=None, validate_default=True)
    start: dt.datetime
    stop: dt.datetime | None = None
    primary_metric: MetricName
    guardrail_metrics: list[MetricName] = Field(default_factory=list)
    guardrail_budgets: GuardrailBudgets = Field(default_factory=GuardrailBudgets)
    design: Design | None = None
    attribution_window_hours: float = Field(default=24.0, gt=0)
    pre_period_days: int = Field(default=14, ge=0)

    @field_validator("unit")
    @classmethod
    def _price_tests_never_by_shopper(cls, unit: Unit, info: ValidationInfo) -> Unit:
        if info.data.get("surface") == "pricing" and unit not in PRICE_UNITS:
            raise ValueError(
                f"pricing experiments randomise by item or time_slice, never by {unit} "
                "(one price per item per moment for every shopper)"
            )
        return unit

    @field_validator("slice_minutes")
    @classmethod
    def _slice_length(cls, minutes: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("unit") == "time_slice" and (minutes is None or minutes <= 0):
            raise ValueError("a time_slice experiment needs slice_minutes > 0")
        if info.data.get("unit") not in (None, "time_slice") and minutes is not None:
            raise ValueError("slice_minutes applies only to unit time_slice")
        return minutes

    @field_validator("salt", "layer")
    @classmethod
    def _default_to_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        return value if value is not None else info.data.get("name")

    @field_validator("layer_range")
    @classmethod
    def _range_in_unit_interval(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        low, high = bounds
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"must satisfy 0 <= low < high <= 1, got [{low}, {high})")
        return bounds

    @field_validator("variants")
    @classmethod
    def _weights_and_names(cls, variants: list[Variant]) -> list[Variant]:
        if len(variants) < 2:
            raise ValueError(f"an experiment needs at least 2 variants, got {len(variants)}")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        total = math.fsum(v.weight for v in variants)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"variant weights must sum to 1, got {total:g}")
        return variants

    @field_validator("control")
    @classmethod
    def _control_is_a_variant(cls, control: str | None, info: ValidationInfo) -> str | None:
        names = [v.name for v in info.data.get("variants") or []]
        if control is None:
            return names[0] if names else None
        if control not in names:
            raise ValueError(f"control {control!r} is not one of the variants {names}")
        return control

    @field_validator("start", "stop")
    @classmethod
    def _utc(cls, moment: dt.datetime | None) -> dt.datetime | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise ValueError("must carry a timezone (e.g. 2026-11-01T00:00:00Z)")
        return moment.astimezone(dt.UTC)

    @field_validator("stop")
    @classmethod
    def _stop_after_start(
        cls, stop: dt.datetime | None, info: ValidationInfo
    ) -> dt.datetime | None:
        start = info.data.get("start")
        if stop is not None and start is not None and stop <= start:
            raise ValueError(f"stop {stop.isoformat()} is not after start {start.isoformat()}")
        return stop

    def randomisation(self) -> dict[str, Any]:
        """What decides which unit gets which variant; changing it reshuffles units."""
        return {
            "unit": self.unit,
            "slice_minutes": self.slice_minutes,
            "salt": self.salt,
            "layer": self.layer,
            "layer_range": list(self.layer_range),
            "variants": [(v.name, v.weight) for v in self.variants],
        }

    def variant_names(self) -> list[str]:
        """Variant names in definition order."""
        return [v.name for v in self.variants]

    def treatments(self) -> list[str]:
        """Every variant but the control."""
        return [name for name in self.variant_names() if name != self.control]

    def planned_units(self, alpha: float) -> dict[str, int] | None:
        """Units per variant the ``design`` plans for (``None`` without a design).

        Args:
            alpha: Two-sided significance level of the test.
        """
        if self.design is None:
            return None
        d = self.design
        order = [self.control or "", *self.treatments()]
        weights = {v.name: v.weight for v in self.variants}
        planned = sample_size(
            d.baseline, d.mde, sd=d.sd, alpha=alpha, power=d.power,
            weights=[weights[name] for name in order],
        )  # fmt: skip
        return dict(zip(order, planned.per_variant, strict=True))


class ExperimentsSettings(Settings):
    """Settings of the experiments library (``configs/experiments.yaml``)."""

    db_url: str | None = None
    """Database of the experiment store; ``None``: ``sqlite:///<data_dir>/experiments.db``."""
    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Two-sided significance level of every interval and test."""
    srm_p_threshold: float = Field(default=0.001, gt=0, lt=1)
    """A sample-ratio-mismatch χ² p-value below this flags the experiment."""
    sequential_tau: float = Field(default=0.1, gt=0)
    """mSPRT mixture standard deviation, in units of the per-unit standard deviation."""
    bayes_draws: int = Field(default=20_000, ge=1000)
    """Posterior draws for chance-to-beat."""
    seed: int = 0
    """Seed of the posterior draws, so a report is reproducible."""


def load_experiment(path: Path | str) -> Experiment:
    """Load and validate one experiment definition.

    A variant's ``business_rules`` are overrides of :class:`serving.rules.BusinessRules`:
    a key that is not one of its fields is refused like any unknown key (definitions
    already in the experiment store are read as they were stored).

    Raises:
        ConfigError: The file is missing or invalid; the message names file and field
            (and, for an unknown key, the closest valid one).
    """
    experiment = load_config(Experiment, path)
    check_business_rules(experiment, Path(path))
    return experiment


def check_business_rules(experiment: Experiment, path: Path) -> None:
    """Refuse variant ``business_rules`` keys that :class:`BusinessRules` does not have.

    Args:
        experiment: The validated definition.
        path: Its file, named in the message.

    Raises:
        ConfigError: A key is unknown; names it and the closest business rule.
    """
    from training.recommender.rules import BusinessRules

    valid = field_keys(BusinessRules)
    unknown = [
        unknown_key_message(f"variants.{i}.business_rules.{key}", key, valid)
        for i, variant in enumerate(experiment.variants)
        for key in variant.business_rules
        if key not in valid
    ]
    if unknown:
        raise ConfigError(f"config file {path}: {'; '.join(unknown)}")


def load_settings(path: Path | str | None = None) -> ExperimentsSettings:
    """The library's settings: ``path``, else ``configs/experiments.yaml``, else defaults."""
    return load_config(ExperimentsSettings, path, name="experiments")
