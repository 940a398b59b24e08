"""Models by alias: from the MLflow registry, with a local copy to start without it.

``load_alias`` downloads ``models:/<name>@<alias>`` into a folder of its own, loads it,
then makes it the local copy ``<data_dir>/serving/models/<alias>/`` (replacing the
previous copy only once the new one is complete); when the registry cannot be reached it loads
the last copy instead and says so, so the service starts and answers (flagged degraded).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.config import ModelsConfig

log = logging.getLogger(__name__)
META_FILE = "serving_meta.json"


@dataclass(frozen=True)
class LoadedModel:
    """A recommender version ready to serve.

    Attributes:
        alias: ``champion`` or ``challenger``.
        version: Registered version (``?`` when unknown).
        model: The unwrapped :class:`training.recommender.packaging.RecommenderModel`.
        source: ``registry`` or ``local_copy`` (the registry was unreachable).
    """

    alias: str
    version: str
    model: Any
    source: str


def _tracking_uri(cfg: ModelsConfig) -> str:
    from training.tracking import tracking_uri

    return tracking_uri(cfg.tracking_uri)


def _download(cfg: ModelsConfig, alias: str, copies: Path) -> tuple[Path, str]:
    """Download the aliased version into a fresh folder of its own; returns it and the
    version."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(_tracking_uri(cfg))
    version = MlflowClient().get_model_version_by_alias(cfg.name, alias)
    copies.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{alias}-", dir=copies))
    try:
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{cfg.name}@{alias}", dst_path=str(staging)
        )
        meta = {"name": cfg.name, "alias": alias, "version": str(version.version)}
        meta["run_id"] = version.run_id
        (staging / META_FILE).write_text(json.dumps(meta))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, str(version.version)


def _install(staging: Path, target: Path) -> None:
    """Make ``staging`` the local copy (best effort: several workers may race; any
    complete copy will do)."""
    old = target.with_name(f"{target.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        if target.exists():
            target.rename(old)
        staging.rename(target)
    except OSError as exc:
        log.info("local copy not replaced (%s); another process installed one", exc)
    finally:
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def _load_folder(folder: Path) -> Any:
    import mlflow

    return mlflow.pyfunc.load_model(str(folder)).unwrap_python_model()


def load_alias(cfg: ModelsConfig, alias: str, copies: Path) -> LoadedModel:
    """Load ``models:/<name>@<alias>``, or its local copy when the registry fails.

    Raises:
        RuntimeError: Neither the registry nor a local copy could be loaded.
    """
    try:
        staging, version = _download(cfg, alias, copies)
        try:
            model = _load_folder(staging)  # reads every artifact into memory
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _install(staging, copies / alias)
        return LoadedModel(alias, version, model, "registry")
    except Exception as exc:  # the registry is down, the alias missing, a bad download
        registry_error = exc
    folder = copies / alias
    meta_file = folder / META_FILE
    if not meta_file.exists():
        raise RuntimeError(
            f"cannot load models:/{cfg.name}@{alias} ({registry_error}) and there is no "
            f"local copy in {folder}"
        ) from registry_error
    log.warning("registry unavailable (%s); serving the local copy in %s", registry_error, folder)
    meta = json.loads(meta_file.read_text())
    return LoadedModel(alias, str(meta.get("version", "?")), _load_folder(folder), "local_copy")
