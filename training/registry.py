"""Model registry by alias, shared by every model family: each new version is the
``challenger``; the first one is also the ``champion``."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER = "champion", "challenger"


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
