"""``storefront models promote``: every family by name; what is missing is named."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli import app
from jobs import models


def test_every_family_names_its_registered_model() -> None:
    assert models.FAMILIES == {
        "recommender": "storefront-recommender",
        "demand": "storefront-demand",
        "elasticity": "storefront-elasticity",
    }


def test_a_model_without_versions_is_named(feed_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["models", "promote", "no-such-model", "--data-dir", str(feed_dir)]
    )
    assert result.exit_code == 1
    assert "'no-such-model' needs both a champion and a challenger" in result.output
