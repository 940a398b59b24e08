"""Which shop folder a job works on."""

from __future__ import annotations

from pathlib import Path

from storefront.config import default_data_dir
from storefront.workspace import Workspace


def open_shop(data_dir: Path | None) -> Path:
    """The shop folder (``data_dir``, else the default), which must exist: a mistyped
    folder is an error, never a new empty shop.

    Raises:
        storefront.workspace.WorkspaceError: The folder does not exist.
    """
    return Workspace.open(data_dir or default_data_dir()).root


def shop_path(data_dir: Path | None) -> Path:
    """Where the shop folder is or will be (no I/O: feed writers make it when new)."""
    return Workspace(data_dir or default_data_dir()).root
