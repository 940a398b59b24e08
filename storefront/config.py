"""Paths and typed configuration: YAML files in ``configs/`` loaded into pydantic models.

Every setting lives in a pydantic model next to the code that uses it; the YAML file of
the same name in ``configs/`` overrides the model's defaults, so the defaults embedded in
the code are a working configuration on their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Root of the source checkout (holds ``configs/``, ``data/`` and ``mlruns/``)."""


def config_dir() -> Path:
    """Folder of the YAML configuration files (``$STOREFRONT_CONFIG_DIR`` or ``configs/``)."""
    return Path(os.environ.get("STOREFRONT_CONFIG_DIR", PROJECT_ROOT / "configs"))


def default_data_dir() -> Path:
    """Default feed directory of the main job (``$STOREFRONT_DATA_DIR`` or ``data/feeds``)."""
    return Path(os.environ.get("STOREFRONT_DATA_DIR", PROJECT_ROOT / "data" / "feeds"))


def shared_data_dir() -> Path:
    """The shared real data sets (``$STOREFRONT_SHARED_DATA`` or ``../shared/data``)."""
    return Path(os.environ.get("STOREFRONT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


class ConfigError(ValueError):
    """A configuration file is missing, is not valid YAML, or does not match its model."""


M = TypeVar("M", bound=BaseModel)


def load_config(model: type[M], path: Path | str | None = None, name: str | None = None) -> M:
    """Load a YAML file into a pydantic model.

    Args:
        model: The pydantic model class describing the configuration.
        path: Explicit YAML file. Must exist when given.
        name: File stem looked up in :func:`config_dir` when ``path`` is not given; when
            that file does not exist the model's embedded defaults are used.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: The file is missing (explicit path), unreadable, or invalid; the
            message names the file and the offending field.
    """
    if path is None:
        if name is None:
            return model()
        path = config_dir() / f"{name}.yaml"
        if not path.exists():
            return model()
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config file {path} is invalid: {fields}") from exc
