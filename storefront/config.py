"""Paths and typed configuration: YAML files in ``configs/`` loaded into pydantic models.

Every setting lives in a pydantic model next to the code that uses it; the YAML file of
the same name in ``configs/`` overrides the model's defaults, so the defaults embedded in
the code are a working configuration on their own. Settings models derive from
:class:`Settings`, which refuses unknown keys: a misspelled key is an error naming the
file, the key and the closest valid one, never a silent fall back to the default.
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Root of the source checkout (holds ``configs/``, ``data/`` and ``mlruns/``)."""


def config_dir() -> Path:
    """Folder of the YAML configuration files (``$STOREFRONT_CONFIG_DIR`` or ``configs/``)."""
    return Path(os.environ.get("STOREFRONT_CONFIG_DIR", PROJECT_ROOT / "configs"))


def default_data_dir() -> Path:
    """Default shop folder of the main job (``$STOREFRONT_DATA_DIR`` or ``data/shop``); its
    layout is :mod:`storefront.workspace`'s business."""
    return Path(os.environ.get("STOREFRONT_DATA_DIR", PROJECT_ROOT / "data" / "shop"))


def shared_data_dir() -> Path:
    """The shared real data sets (``$STOREFRONT_SHARED_DATA`` or ``../shared/data``)."""
    return Path(os.environ.get("STOREFRONT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


class ConfigError(ValueError):
    """A configuration file is missing, is not valid YAML, or does not match its model."""


class Settings(BaseModel):
    """Base of every settings model: unknown keys are refused (``extra="forbid"``)."""

    model_config = ConfigDict(extra="forbid")


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
        raise ConfigError(validation_message(model, path, exc)) from exc


def validation_message(model: type[BaseModel], path: Path, exc: ValidationError) -> str:
    """One line naming the file and every offending field of a failed validation.

    Args:
        model: The model the file was validated against.
        path: The file.
        exc: The validation error.

    Returns:
        ``config file <path>: unknown key '<a.b>' (did you mean '<c>'?)`` when every
        error is an unknown key, else ``config file <path> is invalid: <field>: <why>``
        with the errors joined by ``;``.
    """
    errors = exc.errors()
    parts = [_error_part(model, err) for err in errors]
    only_unknown = all(err["type"] == "extra_forbidden" for err in errors)
    return f"config file {path}{':' if only_unknown else ' is invalid:'} {'; '.join(parts)}"


def _error_part(model: type[BaseModel], err: ErrorDetails) -> str:
    """One validation error as ``<dotted.field>: <message>`` or an unknown-key message."""
    loc = err["loc"]
    dotted = ".".join(str(p) for p in loc)
    if err["type"] != "extra_forbidden" or not loc:
        return f"{dotted}: {err['msg']}"
    parent = model_at(model, loc[:-1])
    valid = [] if parent is None else field_keys(parent)
    return unknown_key_message(dotted, str(loc[-1]), valid)


def unknown_key_message(dotted: str, key: str, valid: Sequence[str]) -> str:
    """The message for one unknown key, with the closest valid key or the valid ones.

    Args:
        dotted: Full dotted path of the key in the file (``exploration.enabeld``).
        key: The key itself, the last part of ``dotted``.
        valid: The keys allowed at that level.

    Returns:
        ``unknown key 'a.b' (did you mean 'c'?)``, else ``unknown key 'a.b' (valid keys:
        c, d)``, else (no known keys) ``unknown key 'a.b'``.
    """
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        return f"unknown key '{dotted}' (did you mean '{close[0]}'?)"
    if valid:
        return f"unknown key '{dotted}' (valid keys: {', '.join(sorted(valid))})"
    return f"unknown key '{dotted}'"


def field_keys(model: type[BaseModel]) -> list[str]:
    """Every key a model accepts: its field names and their string aliases."""
    keys: list[str] = []
    for name, info in model.model_fields.items():
        keys.append(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str) and alias not in keys:
                keys.append(alias)
    return keys


def model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``loc`` (an error location) in ``model``.

    Follows fields (by name or alias), list and tuple items, dict values, optionals and
    unions (pydantic puts the member's name in the location of a union error).

    Args:
        model: The root model.
        loc: Location of the mapping, without the offending key.

    Returns:
        The nested model class, or ``None`` when the location does not lead to one.
    """
    current: Any = model
    parts = list(loc)
    while True:
        current = _unwrap(current, parts)
        if current is None or not parts:
            return current if _is_model(current) else None
        current = _step(current, parts.pop(0))


def _is_model(annotation: Any) -> bool:
    """Whether ``annotation`` is a pydantic model class."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap(annotation: Any, parts: list[str | int]) -> Any:
    """Strip ``Annotated`` and pick the member of an optional or union.

    A union member named by the next location part is taken (and that part consumed);
    otherwise the only non-``None`` member, else the first model member.
    """
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = [a for a in get_args(annotation) if a is not type(None)]
            named = [a for a in members if parts and getattr(a, "__name__", None) == parts[0]]
            if named:
                parts.pop(0)
                annotation = named[0]
            elif len(members) == 1:
                annotation = members[0]
            else:
                models = [a for a in members if _is_model(a)]
                annotation = models[0] if models else None
            continue
        return annotation


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one location part below ``annotation`` (a field, item or value)."""
    if _is_model(annotation):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias, info.validation_alias):
                return info.annotation
        return None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is None or not args:
        return None
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return args[-1]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[part] if isinstance(part, int) and part < len(args) else None
    if isinstance(origin, type) and issubclass(origin, Sequence | set | frozenset):
        return args[0]
    return None
