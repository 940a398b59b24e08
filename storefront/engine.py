"""Where the pipelines run: on this machine (the default) or on a Ray cluster.

``configs/engine.yaml`` chooses the engine; ``engine: ray`` with ``ray.address`` runs the
feature pipelines partitioned by shopper and by item, LightGBM on Ray's distributed
trainer and Optuna trials on Ray workers sharing one study. The local engine never
imports Ray, so a shop that stays on one machine does not need it installed.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from storefront.config import Settings, load_config

log = logging.getLogger(__name__)

ENGINE_ENV = "STOREFRONT_ENGINE_CONFIG"
"""Environment variable naming an engine YAML (default ``configs/engine.yaml``)."""


class RayConfig(Settings):
    """How to reach a Ray cluster and how much of it one pipeline uses."""

    address: str = "auto"
    """``auto`` (the cluster this machine belongs to, via ``ray start``), ``host:port``
    of a head's GCS, or ``ray://host:10001`` (Ray Client)."""
    partitions: int = Field(default=4, ge=1)
    """Partitions of each feature pipeline (by shopper for user tables, by item for
    item tables); each is one Ray task."""
    lightgbm_workers: int = Field(default=2, ge=1)
    """Ray Train workers of one distributed LightGBM fit."""
    trial_workers: int = Field(default=2, ge=1)
    """Optuna trials run at once, each on a Ray worker, all in one study."""
    cpus_per_worker: float = Field(default=1.0, gt=0)


class EngineConfig(Settings):
    """The engine every pipeline runs on."""

    engine: Literal["local", "ray"] = "local"
    ray: RayConfig = RayConfig()

    @property
    def distributed(self) -> bool:
        """Whether the pipelines run on Ray."""
        return self.engine == "ray"

    @property
    def label(self) -> str:
        """The engine in words, for reports: ``local`` or ``ray at <address>``."""
        return f"ray at {self.ray.address}" if self.distributed else "local"


def load_engine(path: Path | str | None = None) -> EngineConfig:
    """The engine settings: ``path``, else ``$STOREFRONT_ENGINE_CONFIG``, else
    ``configs/engine.yaml`` (the embedded default, ``local``, when that is missing)."""
    explicit = path or os.environ.get(ENGINE_ENV)
    return load_config(EngineConfig, explicit, name="engine")


def _require_listening(address: str, timeout_s: float = 5.0) -> None:
    """Raise ValueError at once when a ``host:port`` address accepts no connection: Ray
    itself retries an absent head for minutes. ``auto`` and ``ray://`` are left to Ray."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"engine: ray, but no Ray cluster answers at ray.address={address!r} "
            f"(start one with `ray start --head`): {exc}"
        ) from exc


def connect(cfg: RayConfig) -> Any:
    """Join the Ray cluster at ``cfg.address`` (once per process) and return ``ray``.

    Raises:
        ValueError: Ray is not installed, or no cluster answers at the address.
    """
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(
            "engine: ray needs Ray installed (pip install 'storefront-ml[ray]')"
        ) from exc
    _require_listening(cfg.address)
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=cfg.address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError) as exc:
        raise ValueError(
            f"engine: ray, but no Ray cluster answers at ray.address={cfg.address!r} "
            f"(start one with `ray start --head`): {exc}"
        ) from exc
    log.info("joined the Ray cluster at %s (%s CPUs)", cfg.address,
             ray.cluster_resources().get("CPU", 0))  # fmt: skip
    return ray
