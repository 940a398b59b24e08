"""Every feed shape a real shop exports runs end to end, or is refused up front.

Each case builds one shape of feeds (from the simulator, transformed with Polars, or a
real data set through its loader, cut down to a few hundred shoppers or a dozen items),
writes it into its own shop folder with its own MLflow store, and drives the main job's
steps through the jobs layer: features build, train recommender, demand and elasticity,
price propose. Each step either completes with a sane result or raises the one-line
error the command line prints (``ValueError`` or ``FileNotFoundError``) naming what is
missing and the step that needs it; anything else (a traceback) fails the case. Two
shapes are then served by the real HTTP service: ``/recommend``, ``/price`` and
``/user_profile`` answer for a known shopper and item.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from jobs import features, pricing, train
from loaders import LOADERS
from loaders import load as load_real
from simulator import SimulationConfig, simulate
from storefront.feeds import SCHEMAS, write_feeds
from tests.serving.client import Server, TrainedShop, call

pytestmark = [pytest.mark.shapes, pytest.mark.slow]

Frames = dict[str, pl.DataFrame]
Shape = Callable[[], Frames]

START = dt.date(2025, 3, 1)
STEPS = ("features build", "train recommender", "train demand", "train elasticity",
         "price propose")  # fmt: skip
CONFIGS = {  # small and single-threaded: the matrix shares two cores with everything else
    "recommender": """
sequential: {dim: 16, layers: 1, epochs: 1, max_seconds: 3, patience: 1, batch_size: 256,
             threads: 1}
ranker: {training_users: 200, rounds: 20, early_stopping: 5, min_child_samples: 5, threads: 1}
ease: {top_items: 500}
itemknn: {neighbours: 20}
""",
    "demand": "horizon: 7\nlag_offsets: [0, 7]\nrolling_windows: [7, 28]\nrounds: 30\n"
    "min_child_samples: 5\nthreads: 1\n",
    "elasticity": "rounds: 30\nthreads: 1\n",
}


def _config(users: int, items: int, days: int, sessions: float) -> SimulationConfig:
    base = SimulationConfig(start_date=START, days=days, n_users=users)
    return base.model_copy(
        update={
            "catalog": base.catalog.model_copy(update={"n_items": items}),
            "behaviour": base.behaviour.model_copy(update={"sessions_per_day": sessions}),
        }
    )


_SIMULATED: dict[tuple[int, int, int, float], Frames] = {}


def _simulated(users: int = 400, items: int = 60, days: int = 45, sessions: float = 60) -> Frames:
    """The simulator's feeds for a small shop (simulated once per size)."""
    key = (users, items, days, sessions)
    if key not in _SIMULATED:
        _SIMULATED[key] = simulate(_config(*key)).feeds.present()
    return dict(_SIMULATED[key])


def _required_columns() -> Frames:
    return {
        name: df.select(c.name for c in SCHEMAS[name].columns if c.required)
        for name, df in _simulated().items()
    }


def _one_category() -> Frames:
    frames = _simulated()
    return frames | {"catalog": frames["catalog"].with_columns(category=pl.lit("everything"))}


def _without(*feeds: str) -> Shape:
    return lambda: {k: v for k, v in _simulated().items() if k not in feeds}


def _purchases_only() -> Frames:
    frames = _simulated()
    return frames | {"events": frames["events"].filter(pl.col("event_type") == "purchase")}


def _single_item_orders() -> Frames:
    """One purchase of one unit per session (views and carts kept)."""
    frames = _simulated()
    events = frames["events"]
    purchase = pl.col("event_type") == "purchase"
    first = pl.col("timestamp").rank("ordinal").over("session_id", purchase) == 1
    single = events.filter(~purchase | first).with_columns(
        quantity=pl.when(purchase).then(1).otherwise("quantity")
    )
    return frames | {"events": single}


def _real(name: str) -> Shape:
    return lambda: _sample(load_real(name).frames)


def _sample(frames: Frames, users: int = 300, items: int = 12, locations: int = 3) -> Frames:
    """A real data set cut down: 300 shoppers of its last 60 days (their items), or
    without events a dozen items in three locations."""
    events = frames.get("events")
    if events is not None:
        last = events["timestamp"].max()
        recent = events.filter(pl.col("timestamp") > last - dt.timedelta(days=60))
        kept = recent["user_id"].unique().sort().head(users)
        frames["events"] = recent.filter(pl.col("user_id").is_in(kept.implode()))
        keep = frames["events"]["item_id"].unique()
    else:
        keep = frames["catalog"]["item_id"].sort().head(items)
    out = {name: df.filter(pl.col("item_id").is_in(keep.implode())) for name, df in frames.items()}
    if "sales" in out:
        sales = out["sales"]
        where = sales["location_id"].unique().sort().head(locations).implode()
        out["sales"] = sales.filter(pl.col("location_id").is_in(where))
    return out


SHAPES: dict[str, Shape] = {
    "required columns only": _required_columns,
    "one category": _one_category,
    "no inventory": _without("inventory"),
    "no prices": _without("prices"),
    "no prices, no sales": _without("prices", "sales"),
    "purchases only": _purchases_only,
    "single-item orders": _single_item_orders,
    "tiny shop": lambda: _simulated(users=50, items=20, days=30, sessions=12),
    "large sparse catalogue": lambda: _simulated(users=400, items=10_000, days=35, sessions=30),
    **{f"real: {name}": _real(name) for name in LOADERS},
}


@dataclass(frozen=True)
class Outcome:
    """What one step did: its result, or the one-line error the command line prints."""

    result: Any = None
    refused: str | None = None


def _run_steps(folder: Path, configs: dict[str, Path]) -> dict[str, Outcome]:
    jobs: dict[str, Callable[[], Any]] = {
        "features build": lambda: features.build(folder, rebuild=True),
        "train recommender": lambda: train.recommender(folder, configs["recommender"]),
        "train demand": lambda: train.demand(folder, configs["demand"]),
        "train elasticity": lambda: train.elasticity(folder, configs["elasticity"]),
        "price propose": lambda: pricing.propose(folder),
    }
    outcomes: dict[str, Outcome] = {}
    for step in STEPS:
        try:
            outcomes[step] = Outcome(result=jobs[step]())
        except (ValueError, FileNotFoundError) as exc:  # what the CLI prints as one line
            outcomes[step] = Outcome(refused=str(exc))
    return outcomes


@pytest.fixture(scope="module")
def empty_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow database with its tables made (migrating a new one takes seconds)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture()
def shop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_mlflow_db: Path
) -> Iterator[tuple[Path, dict]]:
    """A fresh shop folder, its own MLflow store, and the small step configurations."""
    shutil.copy(empty_mlflow_db, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    configs = {}
    for name, text in CONFIGS.items():
        configs[name] = tmp_path / f"{name}.yaml"
        configs[name].write_text(text)
    yield tmp_path / "shop", configs


def _check_result(step: str, result: Any, frames: Frames) -> None:
    """A completed step did its job: rows built, a model registered, an estimate or a
    price for every priced item."""
    items = set(frames["catalog"]["item_id"].to_list())
    if step == "features build":
        assert result.new_rows.get("demand", 0) > 0, result.new_rows
    elif step in ("train recommender", "train demand"):
        assert result.run_id and result.model_version, result
    elif step == "train elasticity":
        estimates = result.report.estimates
        assert estimates.height and set(estimates["item_id"]) <= items
        assert estimates["elasticity"].is_finite().all()
    else:
        table = result.proposal.table
        assert table.height and table["item_id"].n_unique() == table.height
        assert set(table["item_id"]) <= items and (table["price"] > 0).all()


def _refusals(shape: str, frames: Frames) -> dict[str, tuple[str, ...]]:
    """Step -> what its refusal of this shape names (the missing feed and the step)."""
    refused: dict[str, tuple[str, ...]] = {}
    if "events" not in frames:  # a sales panel: nothing to learn recommendations from
        refused["train recommender"] = ("events.parquet", "feed missing", "train recommender")
        refused["price propose"] = ("events.parquet", "feed missing", "price propose")
    return refused


def _marks(shape: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.real_data] if shape.startswith("real: ") else []


CASES = [pytest.param(shape, marks=_marks(shape)) for shape in SHAPES]


@pytest.mark.parametrize("shape", CASES)
def test_every_step_completes_or_refuses_up_front(shape: str, shop: tuple[Path, dict]) -> None:
    folder, configs = shop
    frames = SHAPES[shape]()
    write_feeds(frames, folder)
    started = time.perf_counter()
    outcomes = _run_steps(folder, configs)
    print(f"\n{shape}: {time.perf_counter() - started:.1f}s",
          {k: v.refused or "ok" for k, v in outcomes.items()})  # fmt: skip

    expected = _refusals(shape, frames)
    for step, outcome in outcomes.items():
        if step in expected:
            assert outcome.refused is not None, f"{step} should refuse {shape}"
            for named in expected[step]:
                assert named in outcome.refused, (step, outcome.refused)
        else:
            assert outcome.refused is None, f"{step} refused {shape}: {outcome.refused}"
            _check_result(step, outcome.result, frames)
    if shape in SERVED:
        _check_service(folder, frames, outcomes["train recommender"].result)


SERVED = ("one category", "no prices")
"""Shapes answered by the real HTTP service after training (a server start each)."""


def _check_service(folder: Path, frames: Frames, report: Any) -> None:
    """``/recommend``, ``/price`` and ``/user_profile`` answer for a known shopper."""
    import os

    events, catalog = frames["events"], frames["catalog"]
    user = str(events.filter(pl.col("event_type") == "purchase")["user_id"][-1])
    items = catalog["item_id"].to_list()
    shop = TrainedShop(folder, os.environ["MLFLOW_TRACKING_URI"], report.run_id,
                       str(report.model_version), user, items, items[0], items[-1])  # fmt: skip
    server = Server(shop, folder.parent / "server.log").start()
    try:
        status, answer = call(server.base, "/recommend", {"user_id": user, "k": 5})
        assert status == 200 and len(answer["items"]) == 5, answer
        assert {i["item_id"] for i in answer["items"]} <= set(items)
        status, answer = call(server.base, "/price", {"item_ids": items[:3]})
        assert status == 200 and len(answer["prices"]) == 3, answer
        base = dict(zip(catalog["item_id"], catalog["base_price"], strict=True))
        for quote in answer["prices"]:
            assert quote["price"] > 0
            if "prices" not in frames:
                assert quote["price"] == pytest.approx(base[quote["item_id"]]), quote
        status, answer = call(server.base, "/user_profile", {"user_id": user})
        assert status == 200 and answer["known"], answer
        assert set(answer["top_categories"]) <= set(catalog["category"]), answer
    finally:
        server.kill(signal.SIGTERM)


@pytest.mark.parametrize(
    ("command", "feed"),
    [(["train", "recommender"], "events.parquet"), (["price", "propose"], "events.parquet"),
     (["features", "build"], "catalog.parquet")],
)  # fmt: skip
def test_the_command_line_prints_a_refusal_as_one_line(
    command: list[str], feed: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli import app

    frames = _simulated()
    shop = {"sales": frames["sales"]} if feed == "catalog.parquet" else frames
    write_feeds({k: v for k, v in shop.items() if k != "events"}, tmp_path / "shop")
    result = CliRunner().invoke(app, [*command, "--data-dir", str(tmp_path / "shop")])
    assert result.exit_code == 1, result.output
    refusal = result.output.splitlines()[0]
    assert refusal.startswith(f"refused: {feed}: feed missing; `storefront {' '.join(command)}`")
    assert "Traceback" not in result.output
