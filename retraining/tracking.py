"""A retrain in MLflow: one parent run, one child run per step, each closed with its
outcome (``FINISHED``, ``FAILED``, or ``KILLED`` on an interrupt).

Written with :class:`mlflow.MlflowClient` rather than the active-run API, so the model
families' own training runs (in their own experiments) start and end as they do
outside a retrain; each step's child names the training or promotion run it made.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from training.tracking import tracking_uri, use_experiment

DESCRIPTION = (
    "storefront retrain: one parent run per retrain, a child per step (fold the "
    "service's events, build features, train, gate and promote each family, reload the "
    "service). A step's tags link the training and promotion runs it made."
)


class RetrainRun:
    """The parent run of one retrain.

    Args:
        experiment: The retrain experiment's name.
        name: The parent run's name.
        tags: Tags of the parent (data folder, families …).
    """

    def __init__(self, experiment: str, name: str, tags: dict[str, str]) -> None:
        use_experiment(None, experiment, DESCRIPTION)
        self.client = MlflowClient(tracking_uri(None))
        found = self.client.get_experiment_by_name(experiment)
        assert found is not None  # made by use_experiment
        self.experiment_id = found.experiment_id
        run = self.client.create_run(self.experiment_id, tags={MLFLOW_RUN_NAME: name, **tags})
        self.run_id = run.info.run_id

    def step(self, name: str) -> str:
        """Open a child run for a step; returns its id."""
        tags = {MLFLOW_RUN_NAME: name, MLFLOW_PARENT_RUN_ID: self.run_id, "step": name}
        return self.client.create_run(self.experiment_id, tags=tags).info.run_id

    def end_step(
        self, run_id: str, status: str, metrics: dict[str, float], tags: dict[str, Any]
    ) -> None:
        """Record a step's figures and links and close it with ``status``."""
        for key, value in metrics.items():
            self.client.log_metric(run_id, metric_name(key), float(value))
        for key, value in tags.items():
            self.client.set_tag(run_id, key, str(value)[:5000])
        self.client.set_terminated(run_id, status, end_time=_now_ms())

    def end(self, status: str, tags: dict[str, Any]) -> None:
        """Close the parent with the retrain's outcome."""
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value)[:5000])
        self.client.set_terminated(self.run_id, status, end_time=_now_ms())


def metric_name(key: str) -> str:
    """``key`` as MLflow accepts it (``ndcg@10`` -> ``ndcg_at_10``; other characters
    outside its set become ``_``)."""
    key = key.replace("@", "_at_")
    return "".join(c if c.isalnum() or c in "_-. :/" else "_" for c in key)


def _now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)
KILLED = RunStatus.to_string(RunStatus.KILLED)
