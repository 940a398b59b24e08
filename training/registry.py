"""Model registry by alias, shared by every model family: each new version is the
``challenger``; the first one is also the ``champion``. Promotion compares the two on
the same holdout with the family's own metric and moves ``champion`` unless the
challenger is worse (or when forced); the promotion run is always closed, ``FAILED``
when anything in it fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER = "champion", "challenger"


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


def register(model_uri: str, name: str) -> str:
    """Register a new version as ``challenger`` (and ``champion`` if there is none)."""
    version = mlflow.register_model(model_uri, name).version
    client = MlflowClient()
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


def promote_on_holdout(
    name: str,
    score: Callable[[str], float],
    metric: str,
    lower_is_better: bool = False,
    force: bool = False,
    metric_names: tuple[str, str] | None = None,
) -> Promotion:
    """Score champion and challenger with ``score`` and move ``champion`` to the
    challenger unless it is worse, or if ``force``; recorded as a run in the current
    experiment, which ends ``FAILED`` (and moves no alias) when anything fails.

    Args:
        name: Registered model name.
        score: ``model URI -> metric`` on the holdout (the same data for both).
        metric: The metric's name (recorded).
        lower_is_better: Whether a lower score is better (errors such as WAPE).
        force: Promote even when the challenger is worse (recorded).
        metric_names: Names of the champion's and challenger's logged metrics
            (default ``champion.<metric>`` and ``challenger.<metric>``).

    Returns:
        What was compared and whether ``champion`` moved.

    Raises:
        ValueError: The model has no champion or no challenger.
    """
    champion, challenger = alias_version(name, CHAMPION), alias_version(name, CHALLENGER)
    if champion is None or challenger is None:
        raise ValueError(f"model {name!r} needs both a champion and a challenger to promote")
    mlflow.start_run(run_name=f"promote {name} v{challenger}")
    status = "FAILED"
    try:
        champion_score = score(f"models:/{name}@{CHAMPION}")
        challenger_score = score(f"models:/{name}@{CHALLENGER}")
        better_or_equal = (
            challenger_score <= champion_score
            if lower_is_better
            else challenger_score >= champion_score
        )
        promoted = force or better_or_equal
        mlflow.log_params(
            {"model": name, "champion_version": champion, "challenger_version": challenger,
             "forced": force, "promoted": promoted, "metric": metric,
             "lower_is_better": lower_is_better}
        )  # fmt: skip
        champion_key, challenger_key = metric_names or (
            f"champion.{metric}",
            f"challenger.{metric}",
        )
        mlflow.log_metrics({champion_key: champion_score, challenger_key: challenger_score})
        if promoted and challenger != champion:
            MlflowClient().set_registered_model_alias(name, CHAMPION, challenger)
        status = "FINISHED"
    finally:  # any failure, an interrupt included, closes the run as FAILED
        mlflow.end_run(status=status)
    return Promotion(
        champion,
        challenger,
        metric,
        champion_score,
        challenger_score,
        promoted,
        force,
        lower_is_better,
    )
