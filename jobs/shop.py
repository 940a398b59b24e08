"""Which shop folder a job works on."""

from __future__ import annotations

from pathlib import Path

from storefront.config import default_data_dir
from storefront.feeds import SCHEMAS, FeedValidationError
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


def require_feeds(data_dir: Path, step: str, needs: dict[str, str]) -> None:
    """Refuse a step up front, naming the feed and the step, when the shop lacks a feed.

    Args:
        data_dir: The shop folder.
        step: The command, as the user types it after ``storefront``.
        needs: Feed name -> what the step needs it for.

    Raises:
        storefront.feeds.FeedValidationError: The first feed of ``needs`` that is absent.
    """
    folder = Workspace.open(data_dir)
    for name, why in needs.items():
        file = SCHEMAS[name].file_name
        if not folder.feed_file(file).exists():
            raise FeedValidationError(file, f"feed missing; `storefront {step}` needs it ({why})")
