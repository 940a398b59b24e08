"""The service ranks as the offline model does: for 200 shoppers at one moment, the
service's re-ranked candidates and scores equal those of training's final stage
(:func:`training.recommender.ranker.generate`, ``history_features``, ``join_features``
and the booster), given the same histories and the same feature values (those the
service read from the online store)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from serving.config import ModelsConfig, ServingConfig
from serving.engine import Engine, _row_sum
from serving.online import open_online
from serving.reader import Features
from serving.rules import BusinessRules
from serving.state import State, build_state
from tests.serving.client import TrainedShop
from training.recommender.config import RankerConfig
from training.recommender.data import Cases
from training.recommender.ranker import generate, history_features, join_features
from training.recommender.scoring import ITEM_FEATURES, USER_FEATURES

pytestmark = pytest.mark.slow
SHOPPERS = 200


@pytest.fixture(scope="module")
def state(trained_shop: TrainedShop) -> State:
    cfg = ServingConfig(
        data_dir=str(trained_shop.data_dir),
        models=ModelsConfig(tracking_uri=trained_shop.tracking_uri),
    )
    features = Features(open_online(Path(trained_shop.data_dir), cfg))
    return build_state(cfg, features, BusinessRules(), purchases=None)


def _generators(engine: Engine) -> dict:
    """The packaged model's generators as training's batch scorers."""
    model = engine.model

    def sparse(name: str):
        matrix = engine.extras.generators[name]
        return lambda hs: np.stack([_row_sum(matrix, np.unique(h)) for h in hs])

    scorers = {
        "sequential": model.sequential.score,
        "popularity": lambda hs: np.tile(engine.popularity, (len(hs), 1)),
    }
    return scorers | {name: sparse(name) for name in engine.extras.generators}


def _offline(engine: Engine, users: list[str], histories: list, read: dict) -> list[tuple]:
    """Training's final stage on the same histories and the service's feature values."""
    catalogue = engine.model.sequential.catalogue
    cases = Cases(users, histories, [], [], np.zeros(engine.n, bool), dt.datetime.now(dt.UTC))
    rows = generate(_generators(engine), cases, RankerConfig(candidates=engine.depths))
    rows = history_features(rows, cases)
    user_frame = pl.DataFrame(
        [{"user_id": u, **{f: read[u]["user"].get(f) for f in USER_FEATURES}} for u in users],
        schema={"user_id": pl.String, **dict.fromkeys(USER_FEATURES, pl.Float64)},
    )
    item_rows = {i: r for u in users for i, r in read[u]["items"].items()}
    item_frame = pl.DataFrame(
        [{"item_id": i, **{f: r.get(f) for f in ITEM_FEATURES}} for i, r in item_rows.items()],
        schema={"item_id": pl.String, **dict.fromkeys(ITEM_FEATURES, pl.Float64)},
    )
    interest = pl.DataFrame(
        [
            {"user_id": u, "category": c, "interest": v}
            for u in users
            for c, v in read[u]["interest"].items()
        ],
        schema={"user_id": pl.String, "category": pl.String, "interest": pl.Float64},
    )
    rows = join_features(rows, cases, catalogue, user_frame, item_frame, interest)
    matrix = rows.select(engine.features).to_numpy().astype(np.float32)
    rows = rows.with_columns(score=engine.ranker.predict(matrix, num_threads=1))
    out = []
    for case in range(len(users)):
        mine = rows.filter(pl.col("case") == case)
        out.append((mine["item"].to_numpy(), mine["score"].to_numpy()))
    return out


def _by_score(items: np.ndarray, scores: np.ndarray) -> list[tuple[float, int]]:
    """Ranked list as (score, item) best first, ties by item (order among equals is free)."""
    return sorted(zip((-scores).round(9).tolist(), items.tolist(), strict=True))


def test_service_ranks_as_the_offline_model_given_the_same_features(state: State) -> None:
    rec, engine = state.recommender, state.engines["champion"]
    assert engine.ranker is not None, "the trained shop's model has a re-ranker"
    known = sorted(u for u, h in engine.model.histories.items() if len(h))
    users = [known[k] for k in np.linspace(0, len(known) - 1, SHOPPERS).astype(int)]
    served, histories, read = {}, [], {}
    for user in users:
        ranked = rec.rank(engine, user)
        assert ranked is not None and ranked.strategy == "reranked", user
        values, history = rec.history(engine, user, None, [])
        categories = sorted(set(engine.categories[ranked.items].tolist()))
        rows, interest = rec.features.candidates(
            engine.item_ids[ranked.items].tolist(),
            [],
            user,
            engine.categories[ranked.items].tolist(),
        )
        served[user] = ranked
        histories.append(history)
        read[user] = {
            "user": values,
            "items": rows,
            "interest": {c: interest.get(c) for c in categories},
        }
    offline = _offline(engine, users, histories, read)
    for user, (items, scores) in zip(users, offline, strict=True):
        mine = served[user]
        assert _by_score(mine.items, mine.scores) == _by_score(items, scores), user
