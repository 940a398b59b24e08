"""Model registry by alias, shared by every model family: each new version is the
``challenger``; the first one is also the ``champion``. Promotion scores both on the
same fresh holdout and moves ``champion`` only when the challenger passes the family's
quality gate (the primary metric not worse beyond a tolerance, guardrail metrics within
their bounds), or when forced; every promotion is one run of the ``promotions``
experiment, always closed (``FAILED`` / ``KILLED`` when it fails or is interrupted).

Registered models carry their family (``storefront.family`` tag), so ``models promote``
picks the family's gate from the model itself.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import mlflow
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from storefront.progress import progress_bar
from storefront.workspace import workspace
from training.tracking import FAMILY_TAG, run_name, tracked_run

CHAMPION, CHALLENGER = "champion", "challenger"
PROMOTION = "promotion"
Scores = Mapping[str, float]


@dataclass(frozen=True)
class Check:
    """One rule of the quality gate, judged on the holdout."""

    name: str
    champion: float
    challenger: float
    bound: float
    passed: bool
    rule: str = ""
    """How the bound is made (``≥ champion − 0.005``)."""


@dataclass(frozen=True)
class Promotion:
    """The outcome of ``models promote``."""

    champion_before: str
    challenger: str
    metric: str
    champion_score: float
    challenger_score: float
    promoted: bool
    forced: bool
    lower_is_better: bool = False
    checks: tuple[Check, ...] = ()
    reason: str = ""
    """One line: why the challenger was promoted, or why the champion stays."""
    family: str = ""
    run_id: str | None = None
    """The promotion's MLflow run (``None``: nothing was compared)."""
    published: tuple[str, ...] = ()
    """Files the promotion published where readers look (forecasts, estimates)."""

    @property
    def same_version(self) -> bool:
        """Whether challenger and champion were one version (nothing to compare)."""
        return self.champion_before == self.challenger


@dataclass(frozen=True)
class Rule:
    """A check of the gate on metric ``metric`` of both versions.

    ``kind``: ``not_worse`` (the challenger within ``limit`` of the champion, in the
    metric's direction), ``at_most`` (the challenger's value at most ``limit``, or at
    most the champion's when the champion already breaks the limit: a challenger no
    worse than what is served, on fresher data, is not refused for the shop's data) or
    ``ratio`` (at most the champion's times ``1 + limit``).
    """

    metric: str
    kind: Literal["not_worse", "at_most", "ratio"]
    limit: float
    lower_is_better: bool = False
    label: str | None = None

    def judge(self, champion: float, challenger: float) -> Check:
        """The check of ``challenger`` against ``champion`` (NaN on both sides passes:
        neither version has anything to judge there)."""
        if self.kind == "at_most" and not math.isnan(champion) and champion > self.limit:
            bound, rule = champion, f"≤ champion (already above the limit {self.limit:g})"
        elif self.kind == "at_most":
            bound, rule = self.limit, f"≤ {self.limit:g}"
        elif self.kind == "ratio":
            bound, rule = champion * (1 + self.limit), f"≤ champion × {1 + self.limit:g}"
        elif self.lower_is_better:
            bound, rule = champion + self.limit, f"≤ champion + {self.limit:g}"
        else:
            bound, rule = champion - self.limit, f"≥ champion − {self.limit:g}"
        upper = self.kind != "not_worse" or self.lower_is_better
        if math.isnan(challenger):
            passed = math.isnan(champion)
        else:
            passed = math.isnan(bound) or (challenger <= bound if upper else challenger >= bound)
        return Check(self.label or self.metric, champion, challenger, bound, passed, rule)


def register(model_uri: str, name: str, family: str | None = None) -> str:
    """Register a new version as ``challenger`` (and ``champion`` if there is none),
    tagging the registered model with its ``family``."""
    version = mlflow.register_model(model_uri, name).version
    client = MlflowClient()
    if family:
        client.set_registered_model_tag(name, FAMILY_TAG, family)
    client.set_registered_model_alias(name, CHALLENGER, version)
    if alias_version(name, CHAMPION) is None:
        client.set_registered_model_alias(name, CHAMPION, version)
    return str(version)


def alias_version(name: str, alias: str) -> str | None:
    """The version an alias points at, or ``None``."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def model_family(name: str) -> str | None:
    """The family a registered model was tagged with, or ``None`` (no such model, or one
    registered before models carried their family)."""
    try:
        return MlflowClient().get_registered_model(name).tags.get(FAMILY_TAG)
    except MlflowException:
        return None


def model_flavors(name: str, alias: str = CHAMPION) -> set[str]:
    """The MLflow flavors of the version ``alias`` points at (``lightgbm`` for the
    demand model, ``python_function`` only for the recommender).

    Raises:
        ValueError: The model or the alias does not exist.
    """
    try:
        return set(mlflow.models.get_model_info(f"models:/{name}@{alias}").flavors)
    except MlflowException as exc:
        raise ValueError(f"model {name!r} has no {alias} version: {exc.message}") from exc


def write_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as parquet at ``path`` through a temporary sibling and a rename
    (a reader sees the old file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.write_parquet(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy_atomically(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_artifacts(
    name: str, version: str, data_dir: Path, files: Mapping[str, Path]
) -> tuple[list[Path], str | None]:
    """Copy artifacts of the run that made ``name`` v``version`` to where readers look
    (each atomically), when that run was trained on the shop ``data_dir``.

    Args:
        name: Registered model name.
        version: Its version.
        data_dir: The shop being promoted into.
        files: Run artifact path (``forecasts/demand.parquet``) -> target file; an
            artifact the run lacks is skipped.

    Returns:
        The files written, and a note when nothing could be (another shop's run).
    """
    run = mlflow.get_run(MlflowClient().get_model_version(name, version).run_id)
    trained_on = run.data.params.get("data_dir")
    shop = str(workspace(data_dir).root)
    if trained_on is not None and trained_on != shop:
        return [], f"v{version}'s outputs belong to {trained_on}, not published into {shop}"
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for artifact, target in files.items():
            try:
                local = mlflow.artifacts.download_artifacts(
                    run_id=run.info.run_id, artifact_path=artifact, dst_path=tmp
                )
            except (MlflowException, OSError):
                continue
            _copy_atomically(Path(local), target)
            written.append(target)
    return written, None


@dataclass(frozen=True)
class Gate:
    """A family's quality gate: the primary rule first, then the guardrails."""

    primary: Rule
    guardrails: Sequence[Rule] = field(default_factory=tuple)

    @property
    def rules(self) -> list[Rule]:
        return [self.primary, *self.guardrails]


def _key(name: str) -> str:
    """MLflow-safe grouped metric key (``cold_users.ndcg@10`` -> ``cold_users/ndcg_at_10``)."""
    safe = name.replace("@", "_at_").replace(".", "/").replace(" ", "_")
    return "".join(c for c in safe if c.isalnum() or c in "_-/")


def _reason(
    checks: Sequence[Check], promoted: bool, force: bool, champion: str, challenger: str
) -> str:
    failed = [c for c in checks if not c.passed]
    why = "; ".join(
        f"{c.name} {c.challenger:.4f} breaks {c.rule} (bound {c.bound:.4f}, champion "
        f"{c.champion:.4f})"
        for c in failed
    )
    if not failed:
        return f"champion is now v{challenger}: it passes all {len(checks)} checks"
    if promoted and force:
        return f"champion is now v{challenger} (forced) although {why}"
    return f"champion stays v{champion}: {why}"


def promote_on_holdout(
    name: str,
    score: Callable[[str], Scores],
    gate: Gate,
    force: bool = False,
    family: str = "",
    publish: Callable[[str], tuple[list[Path], str | None]] | None = None,
    data_dir: Path | None = None,
) -> Promotion:
    """Judge challenger against champion on the same holdout with ``gate`` and move
    ``champion`` when every check passes, or if ``force``; one run of the current
    experiment, ``FAILED`` / ``KILLED`` (moving no alias) when anything fails.

    When both aliases name one version the answer is immediate: nothing is scored.

    Args:
        name: Registered model name.
        score: ``model URI -> {metric: value}`` on the holdout (the same for both).
        gate: The primary rule and the guardrails.
        force: Promote even when a check fails (recorded).
        family: The model family (recorded).
        publish: Called with the new champion's version before its alias moves: writes
            its outputs where readers look; returns the files and a note.
        data_dir: The shop judged on (named in the run).

    Raises:
        ValueError: The model has no champion or no challenger.
    """
    champion, challenger = alias_version(name, CHAMPION), alias_version(name, CHALLENGER)
    if champion is None or challenger is None:
        raise ValueError(f"model {name!r} needs both a champion and a challenger to promote")
    primary = gate.primary
    if champion == challenger:
        reason = f"challenger v{challenger} is already the champion: nothing to compare"
        return Promotion(champion, challenger, primary.metric, math.nan, math.nan, False, force,
                         primary.lower_is_better, (), reason, family)  # fmt: skip
    title = run_name(f"promote {name} v{challenger} vs v{champion}", data_dir or Path.cwd())
    tags = {FAMILY_TAG: PROMOTION, "model": name, "model_family": family}
    with tracked_run(title, tags=tags) as run:
        scores = {}
        with progress_bar(f"{name}: champion v{champion} and challenger v{challenger} on the "
                          "same holdout", 2) as advance:  # fmt: skip
            for alias in (CHAMPION, CHALLENGER):
                scores[alias] = score(f"models:/{name}@{alias}")
                advance(1)
        checks = tuple(
            rule.judge(
                float(scores[CHAMPION].get(rule.metric, math.nan)),
                float(scores[CHALLENGER].get(rule.metric, math.nan)),
            )
            for rule in gate.rules
        )
        passed = all(c.passed for c in checks)
        promoted = passed or force
        reason = _reason(checks, promoted, force, champion, challenger)
        published: list[Path] = []
        if promoted and publish is not None:
            published, note = publish(challenger)
            if note:
                reason += f" ({note})"
        mlflow.log_params(
            {"model": name, "family": family, "champion_version": champion,
             "challenger_version": challenger, "forced": force, "promoted": promoted,
             "metric": primary.metric, "lower_is_better": primary.lower_is_better,
             "reason": reason[:6000]}
        )  # fmt: skip
        metrics: dict[str, float] = {}
        for check in checks:
            key = _key(check.name)
            metrics |= {
                f"champion/{key}": check.champion,
                f"challenger/{key}": check.challenger,
                f"bound/{key}": check.bound,
                f"passed/{key}": float(check.passed),
            }
        mlflow.log_metrics({k: v for k, v in metrics.items() if not math.isnan(v)})
        if promoted:
            MlflowClient().set_registered_model_alias(name, CHAMPION, challenger)
        first = checks[0]
    return Promotion(
        champion, challenger, primary.metric, first.champion, first.challenger, promoted,
        force, primary.lower_is_better, checks, reason, family, run.info.run_id,
        tuple(str(p) for p in published),
    )  # fmt: skip
