"""LightGBM fits on the configured engine: in this process, or on Ray Train's distributed
LightGBM (``ray.train.lightgbm.LightGBMTrainer``, data-parallel tree learner).

Either way the result is a plain ``lgb.Booster``: prediction, MLflow logging and
serving do not know where it was trained. On Ray the rows travel as Ray Datasets, one
shard for each of ``ray.lightgbm_workers`` workers; the booster comes back through Ray Train's
checkpoint of rank 0 (written to a temporary folder of the driver: on a multi-node
cluster that folder must be shared storage, see :data:`STORAGE_ENV`). Ray is imported
only on the Ray path.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm.callback import CallbackEnv

from storefront.engine import EngineConfig, RayConfig, connect

LABEL = "__label__"
"""Column of the label in the Ray Dataset (a name no feature has)."""
STORAGE_ENV = "STOREFRONT_RAY_STORAGE"
"""Folder (or ``s3://`` URI) Ray Train keeps the fit's checkpoint in; default a temporary
folder of the driver, which every node must see on a multi-node cluster."""
EVALS_FILE = "evals.json"


@dataclass
class Rows:
    """Features and label of one LightGBM dataset."""

    features: pd.DataFrame
    label: np.ndarray
    categorical: list[str] = field(default_factory=list)


@dataclass
class Fit:
    """One booster to train on the shared rows."""

    params: dict[str, Any]
    rounds: int
    evaluate: bool = False
    """Evaluate on the ``valid`` rows each round (and run ``callbacks``)."""
    callbacks: list[Callable[[CallbackEnv], None]] = field(default_factory=list)
    """LightGBM callbacks. On Ray they run on the driver after the fit, once per round
    with that round's evaluation: they observe the rounds, they cannot stop them."""


Evals = list[list[tuple[str, str, float, bool]]]
"""Per round, LightGBM's ``evaluation_result_list``."""


def fit_boosters(
    fits: Sequence[Fit],
    train: Rows,
    valid: Rows | None = None,
    engine: EngineConfig | None = None,
) -> list[lgb.Booster]:
    """Train the boosters of ``fits`` on the same rows, here or on Ray.

    Args:
        fits: Parameters, rounds and callbacks of each booster.
        train: Training rows.
        valid: Rows the fits with ``evaluate`` report on as ``valid``.
        engine: Where to train; ``None`` or ``engine: local`` is this process. On Ray
            all fits run in one Ray Train run (its start-up is paid once).
    """
    if engine is None or not engine.distributed:
        data = _dataset(train)
        sets = [] if valid is None else [_dataset(valid, reference=data)]
        return [
            lgb.train(
                f.params,
                data,
                f.rounds,
                valid_sets=sets if f.evaluate else [],
                valid_names=["valid"][: len(sets) if f.evaluate else 0],
                callbacks=f.callbacks,
            )
            for f in fits
        ]
    boosters = []
    for fit, (booster, evals) in zip(fits, fit_on_ray(fits, train, engine.ray, valid), strict=True):
        replay(fit.callbacks, booster, fit.params, fit.rounds, evals)
        boosters.append(booster)
    return boosters


def _dataset(rows: Rows, reference: lgb.Dataset | None = None) -> lgb.Dataset:
    return lgb.Dataset(
        rows.features, label=rows.label, categorical_feature=rows.categorical,
        reference=reference, free_raw_data=False,
    )  # fmt: skip


def fit_on_ray(
    fits: Sequence[Fit], train: Rows, cfg: RayConfig, valid: Rows | None = None
) -> list[tuple[lgb.Booster, Evals]]:
    """Data-parallel LightGBM on ``cfg.lightgbm_workers`` Ray Train workers.

    Returns:
        Per fit, the booster of rank 0 (every rank holds the same trees) and its
        per-round evaluation on ``valid``.
    """
    ray = connect(cfg)
    from ray.train import DataConfig, RunConfig, ScalingConfig
    from ray.train.lightgbm import LightGBMTrainer

    datasets = _shards(ray, "train", train, cfg.lightgbm_workers)
    if valid is not None:
        datasets |= _shards(ray, "valid", valid, cfg.lightgbm_workers)
    threads = max(1, int(cfg.cpus_per_worker))
    loop_config = {
        "fits": [({**f.params, "num_threads": threads}, f.rounds, f.evaluate) for f in fits],
        # an all-missing categorical column crashes the distributed binning (SIGSEGV in
        # LightGBM 4.7); it holds nothing to split on, so it is left numeric
        "categorical": [c for c in train.categorical if train.features[c].notna().any()],
        "valid": valid is not None,
    }
    with tempfile.TemporaryDirectory(prefix="storefront-lgb-") as tmp:
        trainer = LightGBMTrainer(
            _train_worker,
            train_loop_config=loop_config,
            datasets=datasets,
            scaling_config=ScalingConfig(
                num_workers=cfg.lightgbm_workers,
                resources_per_worker={"CPU": cfg.cpus_per_worker},
            ),
            # one dataset per worker: Ray Train's own split evens the shards by dropping
            # up to workers - 1 rows
            dataset_config=DataConfig(datasets_to_split=[]),
            run_config=RunConfig(storage_path=os.environ.get(STORAGE_ENV) or tmp),
        )
        checkpoint = trainer.fit().checkpoint
        if checkpoint is None:  # pragma: no cover - rank 0 always checkpoints at the end
            raise RuntimeError("the Ray LightGBM fit reported no model")
        with checkpoint.as_directory() as folder:
            evals = json.loads((Path(folder) / EVALS_FILE).read_text())
            return [
                (lgb.Booster(model_file=str(Path(folder, f"model_{k}.txt"))),
                 [[tuple(e) for e in row] for row in evals[k]])
                for k in range(len(fits))
            ]  # fmt: skip


def _shards(ray: Any, name: str, rows: Rows, workers: int) -> dict[str, Any]:
    """``rows`` with their label as ``workers`` Ray Datasets ``name_0`` … (contiguous,
    sizes differing by at most one row)."""
    frame = rows.features.assign(**{LABEL: rows.label})
    bounds = np.linspace(0, len(frame), workers + 1).astype(int)
    return {
        f"{name}_{k}": ray.data.from_pandas(frame.iloc[bounds[k] : bounds[k + 1]])
        for k in range(workers)
    }


def _train_worker(config: dict[str, Any]) -> None:  # pragma: no cover - runs on Ray workers
    """One Ray Train worker: its shard of the rows → each fit's ``lgb.train`` in the
    worker group; rank 0 checkpoints the boosters and their per-round evaluations."""
    import ray.train
    from ray.train.lightgbm import get_network_params, normalize_pandas_for_lightgbm

    rank = ray.train.get_context().get_world_rank()

    def shard(name: str) -> Rows:
        frame = ray.train.get_dataset_shard(f"{name}_{rank}").materialize().to_pandas()
        frame = normalize_pandas_for_lightgbm(frame)
        label = frame.pop(LABEL).to_numpy(dtype=float)
        return Rows(frame.astype(float), label, config["categorical"])

    train = shard("train")
    valid = shard("valid") if config["valid"] else None
    network = {"tree_learner": "data_parallel", "pre_partition": True, **get_network_params()}
    data = _dataset(train)
    sets = [] if valid is None else [_dataset(valid, reference=data)]
    boosters, evals = [], []
    for params, rounds, evaluate in config["fits"]:
        rows: Evals = []
        # the first fit opens LightGBM's network (``machines``: a second open fails to
        # bind the port again); the later fits reuse it, open while its booster lives
        network = network if not boosters else {k: v for k, v in network.items() if k != "machines"}

        def record(env: CallbackEnv, rows: Evals = rows) -> None:
            rows.append([(*e[:3], bool(e[3])) for e in env.evaluation_result_list])

        watched = sets if evaluate else []
        booster = lgb.train(
            {**params, **network},
            data,
            rounds,
            valid_sets=watched,
            valid_names=["valid"][: len(watched)],
            callbacks=[record],
        )
        boosters.append(booster)
        evals.append(rows)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = None
        if rank == 0:
            for k, booster in enumerate(boosters):
                booster.save_model(str(Path(tmp, f"model_{k}.txt")))
            Path(tmp, EVALS_FILE).write_text(json.dumps(evals))
            checkpoint = ray.train.Checkpoint.from_directory(tmp)
        ray.train.report({"boosters": len(boosters)}, checkpoint=checkpoint)


def replay(
    callbacks: Sequence[Callable[[CallbackEnv], None]],
    booster: lgb.Booster,
    params: dict[str, Any],
    rounds: int,
    evals: Evals,
) -> None:
    """Call each callback once per finished round with that round's evaluation, as
    ``lgb.train`` would have (for callbacks that record or log, e.g. training curves)."""
    for k, results in enumerate(evals):
        env = CallbackEnv(booster, params, k, 0, rounds, [lgb.EvalResult(*e) for e in results])
        for callback in callbacks:
            callback(env)
