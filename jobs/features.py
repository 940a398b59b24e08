"""The feature store: build (incremental) and rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.shop import open_shop, require_feeds
from storefront.config import load_config
from storefront.engine import load_engine
from storefront.progress import console, progress_bar

if TYPE_CHECKING:
    from features.build import BuildReport

__all__ = ["build"]

COMPUTE = "compute tables"
STEPS = ("read feeds", COMPUTE, "write offline tables", "apply definitions",
         "materialize to the online store")  # fmt: skip


def build(
    data_dir: Path | None,
    config: Path | None = None,
    rebuild: bool = False,
    engine_config: Path | None = None,
) -> BuildReport:
    """Build the shop's feature store with a progress bar.

    Args:
        data_dir: The shop folder.
        config: Features YAML (default ``configs/features.yaml``).
        rebuild: Forget earlier builds and recompute everything.
        engine_config: Engine YAML (default ``$STOREFRONT_ENGINE_CONFIG``, else
            ``configs/engine.yaml``): ``engine: ray`` computes the tables on a Ray cluster,
            partitioned by shopper and by item, with a bar per partitioned stage.
    """
    from features.build import build_features
    from features.config import FeatureConfig

    folder = open_shop(data_dir)
    cfg = load_config(FeatureConfig, config, name="features")
    engine = load_engine(engine_config)
    require_feeds(folder, "features build", {"catalog": "every feature table joins items to it"})
    with progress_bar("building features", len(STEPS)) as advance:
        started: list[str] = []

        def step(name: str) -> None:
            if started:
                advance(1)
            started.append(name)
            console.log(f"features: {name}" + (f" ({engine.label})" if name == COMPUTE else ""))

        report = build_features(folder, cfg, rebuild=rebuild, step=step, engine=engine)
        advance(len(STEPS) - len(started) + 1)
    return report
