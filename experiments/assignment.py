"""Deterministic assignment: hash(salt, unit id) → bucket in [0, 1) → variant by weight.

The same unit always gets the same variant, in every process and on every machine
(SHA-256, never Python's salted ``hash()``). Experiments sharing a layer are mutually
exclusive: a second hash of (layer, unit id) picks at most one of them, by the
``layer_range`` each one owns. Time-slice (switchback) experiments use the index of the
slice holding the request's moment as the unit id. An assignment costs a few
microseconds, so the service calls it on every request.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from experiments.config import Experiment, Surface, Unit

_SCALE = float(2**64)


def bucket(salt: str, unit_id: str) -> float:
    """The unit's bucket in [0, 1) for this salt.

    The first 8 bytes of SHA-256 over ``salt + "\x1f" + unit_id`` (UTF-8), read as a
    big-endian integer and divided by 2**64: reproducible in any language.
    """
    digest = hashlib.sha256(f"{salt}\x1f{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def slice_index(at: dt.datetime, slice_minutes: int) -> str:
    """The switchback slice holding ``at`` (whole slices since the Unix epoch, UTC)."""
    if at.tzinfo is None:
        raise ValueError("at: the moment must carry a timezone (UTC)")
    return str(int(at.timestamp()) // (slice_minutes * 60))


def layer_overlaps(experiments: Iterable[Experiment]) -> list[str]:
    """Pairs of experiments that would share units: same layer, overlapping ranges, or
    same layer but different units. Empty when the set is mutually exclusive."""
    problems = []
    for a, b in itertools.combinations(experiments, 2):
        if a.layer != b.layer:
            continue
        if a.unit != b.unit:
            problems.append(f"{a.name} and {b.name} share layer {a.layer} but not the unit")
        elif a.layer_range[0] < b.layer_range[1] and b.layer_range[0] < a.layer_range[1]:
            problems.append(
                f"{a.name} {list(a.layer_range)} and {b.name} {list(b.layer_range)} overlap "
                f"in layer {a.layer}"
            )
    return problems


@dataclass(frozen=True, slots=True)
class Assignment:
    """The variant one unit gets in one experiment; log ``unit_id`` with the exposure."""

    experiment: str
    variant: str
    unit_id: str
    bucket: float


class _Compiled:
    """One experiment prepared for fast lookups: salt and cumulative weights."""

    __slots__ = ("cumulative", "experiment", "names")

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment
        self.names = experiment.variant_names()
        self.cumulative = list(itertools.accumulate(v.weight for v in experiment.variants))
        self.cumulative[-1] = 1.0  # weights sum to 1 within tolerance: close the interval

    def variant(self, unit_id: str) -> tuple[str, float]:
        point = bucket(self.experiment.salt or self.experiment.name, unit_id)
        index = min(bisect.bisect_right(self.cumulative, point), len(self.names) - 1)
        return self.names[index], point

    def active(self, at: dt.datetime) -> bool:
        exp = self.experiment
        return exp.start <= at and (exp.stop is None or at < exp.stop)


def assign(experiment: Experiment, unit_id: str) -> Assignment:
    """The variant of one unit in one experiment, ignoring layers and dates."""
    name, point = _Compiled(experiment).variant(unit_id)
    return Assignment(experiment.name, name, unit_id, point)


class Assigner:
    """Assigns requests to the running experiments of a surface, one per layer at most.

    Args:
        experiments: The experiments to serve; they must be mutually exclusive within
            each layer (see :func:`layer_overlaps`).

    Raises:
        ValueError: Two experiments of one layer would share units.
    """

    def __init__(self, experiments: Sequence[Experiment]) -> None:
        problems = layer_overlaps(experiments)
        if problems:
            raise ValueError("layers are not mutually exclusive: " + "; ".join(problems))
        self._by_surface: dict[str, list[_Compiled]] = {}
        for experiment in experiments:
            self._by_surface.setdefault(experiment.surface, []).append(_Compiled(experiment))

    def assign(
        self,
        surface: Surface,
        at: dt.datetime,
        *,
        shopper_id: str | None = None,
        session_id: str | None = None,
        item_id: str | None = None,
    ) -> list[Assignment]:
        """Assignments of one request, one per experiment the request falls in.

        Args:
            surface: The surface serving the request.
            at: The request's moment (timezone-aware).
            shopper_id: Pseudonymised shopper id (shopper experiments).
            session_id: Session id (session experiments).
            item_id: Item whose price is served (item experiments).

        Returns:
            One assignment per active experiment of the surface whose layer range holds
            the unit; an experiment whose unit id was not given is skipped.

        Raises:
            ValueError: ``at`` has no timezone.
        """
        if at.tzinfo is None:
            raise ValueError("at: the moment must carry a timezone (UTC)")
        ids: dict[Unit, str | None] = {
            "shopper": shopper_id,
            "session": session_id,
            "item": item_id,
        }
        found = []
        for compiled in self._by_surface.get(surface, ()):
            exp = compiled.experiment
            if not compiled.active(at):
                continue
            unit_id = (
                slice_index(at, exp.slice_minutes or 1)
                if exp.unit == "time_slice"
                else ids[exp.unit]
            )
            if unit_id is None:
                continue
            low, high = exp.layer_range
            if (low, high) != (0.0, 1.0) and not low <= bucket(
                f"layer:{exp.layer}", unit_id
            ) < high:
                continue
            name, point = compiled.variant(unit_id)
            found.append(Assignment(exp.name, name, unit_id, point))
        return found
