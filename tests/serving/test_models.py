"""Models by alias: from the registry with a local copy, and from the copy alone when
the registry is unreachable."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.config import ModelsConfig
from serving.models import META_FILE, load_alias
from tests.serving.client import TrainedShop

pytestmark = pytest.mark.slow


def test_registry_then_local_copy(trained_shop: TrainedShop, tmp_path: Path) -> None:
    copies = tmp_path / "models"
    cfg = ModelsConfig(tracking_uri=trained_shop.tracking_uri)
    loaded = load_alias(cfg, "champion", copies)
    assert loaded.source == "registry" and loaded.version == trained_shop.version
    assert (copies / "champion" / META_FILE).exists()
    assert loaded.model.extras is not None and loaded.model.extras.ranker_model

    unreachable = ModelsConfig(tracking_uri=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    offline = load_alias(unreachable, "champion", copies)
    assert offline.source == "local_copy" and offline.version == trained_shop.version

    with pytest.raises(RuntimeError, match="no local copy"):
        load_alias(unreachable, "champion", tmp_path / "empty")
