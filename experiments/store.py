"""The experiment store: definitions, exposure and outcome logs (SQLAlchemy Core).

The same code runs on SQLite (default ``sqlite:///<data_dir>/experiments.db``, WAL
journal, ``synchronous=FULL``) and on Postgres (any ``postgresql+psycopg://`` URL).
Outcome logging is idempotent on ``event_id``, exposure logging on (request, experiment),
so a retried batch never counts twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, create_engine, event, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Insert

from experiments.assignment import layer_overlaps
from experiments.attribution import KEY_COLUMNS, Attributed, attribute
from experiments.config import Experiment, ExperimentsSettings
from experiments.records import Exposure, Outcome
from experiments.tables import experiments, exposures, metadata, outcomes
from storefront.workspace import workspace

EXPOSURE_SCHEMA = {
    "request_id": pl.String,
    "variant": pl.String,
    "unit_id": pl.String,
    "surface": pl.String,
    "segment": pl.String,
    "latency_ms": pl.Float64,
    "error": pl.Boolean,
    "served_at": pl.Datetime("us"),
}
OUTCOME_SCHEMA = {
    "event_id": pl.String,
    "request_id": pl.String,
    "unit_id": pl.String,
    "session_id": pl.String,
    "event_type": pl.String,
    "item_id": pl.String,
    "quantity": pl.Int64,
    "revenue": pl.Float64,
    "profit": pl.Float64,
    "occurred_at": pl.Datetime("us"),
}


def default_url(data_dir: Path) -> str:
    """The embedded store in the shop's state: ``sqlite:///<shop>/state/experiments.db``."""
    return f"sqlite:///{workspace(data_dir).experiments_db}"


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets the service write while a report reads; FULL survives power loss."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass(frozen=True)
class StoredExperiment:
    """An experiment as the store holds it."""

    experiment: Experiment
    status: str
    created_at: dt.datetime
    stopped_at: dt.datetime | None


class ExperimentStore:
    """Definitions, exposures and outcomes in one database.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///data/feeds/experiments.db`` or
            ``postgresql+psycopg://user:pw@host:5432/db``.
    """

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name != "postgresql":
            raise ValueError(
                f"db_url: {self.engine.dialect.name} is not supported (sqlite, postgresql)"
            )
        metadata.create_all(self.engine)

    @classmethod
    def open(cls, data_dir: Path, settings: ExperimentsSettings | None = None) -> ExperimentStore:
        """The store of ``settings.db_url``, else the SQLite file in ``data_dir``."""
        url = (settings or ExperimentsSettings()).db_url or default_url(data_dir)
        return cls(url)

    def _insert_ignoring_duplicates(self, table: Any) -> Insert:
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        return dialect.insert(table).on_conflict_do_nothing()

    def create(self, experiment: Experiment, now: dt.datetime | None = None) -> str:
        """Register an experiment (status running), or update the description, dates or
        metrics of a running one whose randomisation is unchanged.

        Returns:
            ``"created"`` or ``"updated"``.

        Raises:
            ValueError: A running experiment of that name randomises differently
                (weights, variants, unit, salt, layer), the name belongs to a stopped
                experiment, or the layer range overlaps another running experiment.
        """
        now = now or dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(experiments).where(experiments.c.name == experiment.name)
            ).first()
            if row is None:
                self._check_layers(experiment)
                conn.execute(
                    experiments.insert().values(
                        name=experiment.name,
                        definition=experiment.model_dump_json(),
                        status="running",
                        created_at=_naive_utc(now),
                    )
                )
                return "created"
            if row.status != "running":
                raise ValueError(
                    f"name: experiment {experiment.name} was stopped on {row.stopped_at:%Y-%m-%d}; "
                    "run a new test under a new name"
                )
            before = Experiment.model_validate_json(row.definition).randomisation()
            after = experiment.randomisation()
            changed = sorted(k for k in after if after[k] != before[k])
            if changed:
                raise ValueError(
                    f"{', '.join(changed)}: experiment {experiment.name} is running; changing "
                    "weights mid-test reshuffles shoppers: stop it and start a new one"
                )
            conn.execute(
                update(experiments)
                .where(experiments.c.name == experiment.name)
                .values(definition=experiment.model_dump_json())
            )
            return "updated"

    def _check_layers(self, experiment: Experiment) -> None:
        others = [e for e in self.running() if e.name != experiment.name]
        problems = layer_overlaps([*others, experiment])
        if problems:
            raise ValueError("layer_range: " + "; ".join(problems))

    def get(self, name: str) -> StoredExperiment:
        """One experiment by name.

        Raises:
            ValueError: No experiment of that name.
        """
        with self.engine.connect() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
        if row is None:
            raise ValueError(f"name: no experiment called {name!r}")
        return self._stored(row)

    @staticmethod
    def _stored(row: Any) -> StoredExperiment:
        return StoredExperiment(
            experiment=Experiment.model_validate_json(row.definition),
            status=row.status,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            stopped_at=_aware(row.stopped_at),
        )

    def list(self) -> list[StoredExperiment]:
        """Every experiment, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(experiments).order_by(experiments.c.created_at)).all()
        return [self._stored(row) for row in rows]

    def running(self) -> list[Experiment]:
        """Definitions of the running experiments (what the service assigns from)."""
        return [s.experiment for s in self.list() if s.status == "running"]

    def stop(self, name: str, now: dt.datetime | None = None) -> None:
        """Stop a running experiment; its logs stay for the report.

        Raises:
            ValueError: Unknown name, or already stopped.
        """
        if self.get(name).status != "running":
            raise ValueError(f"name: experiment {name!r} is already stopped")
        with self.engine.begin() as conn:
            conn.execute(
                update(experiments)
                .where(experiments.c.name == name)
                .values(status="stopped", stopped_at=_naive_utc(now or dt.datetime.now(dt.UTC)))
            )

    def log_exposures(self, batch: Iterable[Exposure]) -> None:
        """Append served answers; a (request_id, experiment) already logged is skipped."""
        rows = [
            {
                "request_id": e.request_id,
                "experiment": e.experiment,
                "variant": e.variant,
                "unit_id": e.unit_id,
                "surface": e.surface,
                "items": json.dumps(e.items),
                "prices": None if e.prices is None else json.dumps(e.prices),
                "segment": e.segment,
                "latency_ms": e.latency_ms,
                "error": e.error,
                "served_at": _naive_utc(e.served_at),
            }
            for e in batch
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self._insert_ignoring_duplicates(exposures), rows)

    def log_outcomes(self, batch: Iterable[Outcome]) -> None:
        """Append shopper events; an ``event_id`` already logged is skipped (idempotent)."""
        rows = [
            {
                "event_id": o.event_id,
                "request_id": o.request_id,
                "unit_id": o.unit_id,
                "session_id": o.session_id,
                "event_type": o.event_type,
                "item_id": o.item_id,
                "quantity": o.quantity,
                "revenue": o.revenue,
                "profit": o.profit,
                "occurred_at": _naive_utc(o.occurred_at),
            }
            for o in batch
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self._insert_ignoring_duplicates(outcomes), rows)

    def exposures_frame(self, name: str) -> pl.DataFrame:
        """Every exposure of one experiment (``served_at`` in UTC)."""
        columns = [exposures.c[c] for c in EXPOSURE_SCHEMA]
        query = select(*columns).where(exposures.c.experiment == name)
        return _frame(self._rows(query), EXPOSURE_SCHEMA, "served_at")

    def outcomes_frame(self, experiment: Experiment, served: pl.DataFrame) -> pl.DataFrame:
        """Outcomes that can be attributed to ``served`` (the experiment's exposures) or
        describe its units' pre-period; a superset of what attribution keeps."""
        if served.is_empty():
            return _frame([], OUTCOME_SCHEMA, "occurred_at")
        first = served["served_at"].min() - dt.timedelta(days=experiment.pre_period_days)
        last = served["served_at"].max() + dt.timedelta(hours=experiment.attribution_window_hours)
        query = select(*[outcomes.c[c] for c in OUTCOME_SCHEMA]).where(
            outcomes.c.occurred_at >= _naive_utc(first),  # type: ignore[arg-type]
            outcomes.c.occurred_at <= _naive_utc(last),  # type: ignore[arg-type]
        )
        if experiment.unit != "time_slice":
            mine = exposures.c.experiment == experiment.name
            key = outcomes.c[KEY_COLUMNS[experiment.unit]]
            query = query.where(
                or_(
                    outcomes.c.request_id.in_(select(exposures.c.request_id).where(mine)),
                    key.in_(select(exposures.c.unit_id).where(mine)),
                )
            )
        return _frame(self._rows(query), OUTCOME_SCHEMA, "occurred_at")

    def _rows(self, query: Any) -> Sequence[Any]:
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def attributed(self, name: str) -> Attributed:
        """One experiment's outcomes attributed to its units: ``.daily`` (per unit and
        day), ``.units()`` (per unit, with pre-period covariates), ``.mixed_units``."""
        experiment = self.get(name).experiment
        served = self.exposures_frame(name)
        return attribute(experiment, served, self.outcomes_frame(experiment, served))


def _frame(rows: Sequence[Any], schema: dict[str, Any], time_column: str) -> pl.DataFrame:
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return frame.with_columns(pl.col(time_column).dt.replace_time_zone("UTC"))
