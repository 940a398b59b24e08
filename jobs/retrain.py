"""``storefront retrain``: the learning loop in one command.

Fold the service's acknowledged events into the events feed, build the new feature
days, retrain each model family, gate each challenger against its champion on the same
fresh holdout (``models promote``), promote what passes and tell the running service
to reload. A step that fails or is refused keeps the champion and is reported with its
reason; the next steps still run where they can. The whole run is one MLflow parent run
with a child per step, and one line of the shop's retrain history.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from jobs import features, models, train
from jobs.service import service_keys
from jobs.shop import open_shop, require_feeds
from retraining import history
from retraining.config import FAMILIES, Family, RetrainConfig
from retraining.lock import exclusive
from retraining.tracking import FAILED, FINISHED, KILLED, RetrainRun
from storefront.config import config_dir, load_config
from storefront.feeds import FeedValidationError, fold_events
from storefront.feeds.logged import default_events_url, logged_events
from storefront.progress import console, progress_bar
from storefront.workspace import workspace
from training.tracking import run_name, run_tags

Status = Literal["done", "nothing new", "promoted", "kept champion", "failed", "skipped"]


@dataclass
class StepOutcome:
    """One step of a retrain: what happened and why."""

    step: str
    status: Status
    detail: str
    seconds: float = 0.0
    figures: dict[str, float] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    """Ids of what the step made (its training run, the model version, the promotion)."""

    @property
    def failed(self) -> bool:
        """Whether the step failed (the champion stayed)."""
        return self.status == "failed"


@dataclass
class RetrainReport:
    """What a retrain did, step by step."""

    data_dir: Path
    started_at: dt.datetime
    steps: list[StepOutcome] = field(default_factory=list)
    run_id: str | None = None
    """The MLflow parent run."""
    finished_at: dt.datetime | None = None

    @property
    def promoted(self) -> list[str]:
        """The families whose challenger became champion."""
        return [s.step for s in self.steps if s.status == "promoted"]

    @property
    def failed(self) -> list[str]:
        """The steps that failed."""
        return [s.step for s in self.steps if s.failed]

    def to_json(self) -> dict[str, Any]:
        """The run as one history record."""
        return {
            "kind": "retrain",
            "data_dir": str(self.data_dir),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "run_id": self.run_id,
            "promoted": self.promoted,
            "failed": self.failed,
            "steps": [asdict(s) for s in self.steps],
        }


def run(
    data_dir: Path | None,
    only: Sequence[Family] | None = None,
    config: Path | None = None,
    service_url: str | None = None,
    wait_seconds: float = 0.0,
) -> RetrainReport:
    """One retrain of the shop, holding its run lock.

    Args:
        data_dir: The shop folder.
        only: These families only (default: the config's ``families``).
        config: Retrain YAML (default ``configs/retrain.yaml``).
        service_url: The service to reload (default: the config's ``service.url``).
        wait_seconds: How long to wait for a retrain or build already running.

    Raises:
        RunInProgressError: Another retrain or scheduled build of the shop is running.
    """
    folder = open_shop(data_dir)
    cfg = load_config(RetrainConfig, config, name="retrain")
    families = [f for f in FAMILIES if f in (only or cfg.families)]
    url = service_url if service_url is not None else cfg.service.url
    ws = workspace(folder)
    with exclusive(ws.retrain_lock, wait_seconds):
        report = RetrainReport(folder, dt.datetime.now(dt.UTC))
        tags = {**run_tags("retrain", folder, cfg, None), "families": ",".join(families)}
        tracked = RetrainRun(cfg.experiment, run_name("retrain", folder), tags)
        report.run_id = tracked.run_id
        status = FAILED
        try:
            _run_steps(report, tracked, folder, cfg, families, url)
            status = FINISHED if not report.failed else FAILED
        except KeyboardInterrupt:
            status = KILLED
            raise
        finally:
            report.finished_at = dt.datetime.now(dt.UTC)
            tracked.end(status, {"promoted": ",".join(report.promoted) or "none",
                                 "failed": ",".join(report.failed) or "none"})  # fmt: skip
            history.append(ws.retrain_history, {**report.to_json(), "status": status})
    return report


def _run_steps(
    report: RetrainReport,
    tracked: RetrainRun,
    folder: Path,
    cfg: RetrainConfig,
    families: list[Family],
    url: str | None,
) -> None:
    """Every step in order, each in its child run, with a bar over the steps."""
    steps: list[tuple[str, Callable[[], StepOutcome]]] = []
    if cfg.fold_events:
        steps.append(("fold events", lambda: fold(folder, cfg.events_url)))
    steps.append(("features", lambda: build_features(folder, report)))
    for family in families:
        steps.append((family, lambda family=family: retrain_family(folder, family, cfg)))
    steps.append(("reload", lambda: reload(folder, url, report, cfg.service.timeout_seconds)))
    with progress_bar("retrain", len(steps)) as advance:
        for name, step in steps:
            console.log(f"retrain: {name}")
            child = tracked.step(name)
            started = time.perf_counter()
            try:
                outcome = step()
            except KeyboardInterrupt:
                tracked.end_step(child, KILLED, {}, {"status": "interrupted"})
                raise
            except Exception as exc:  # a failed step keeps the champion; report why
                outcome = StepOutcome(name, "failed", f"{type(exc).__name__}: {exc}")
            outcome.seconds = round(time.perf_counter() - started, 2)
            report.steps.append(outcome)
            tracked.end_step(
                child,
                FAILED if outcome.failed else FINISHED,
                {"seconds": outcome.seconds, **outcome.figures},
                {"status": outcome.status, "detail": outcome.detail, **outcome.links},
            )
            console.log(f"retrain: {name}: {outcome.status} ({outcome.detail})")
            advance(1)


def fold(folder: Path, events_url: str | None) -> StepOutcome:
    """Fold the service's acknowledged events into the events feed."""
    url = events_url or default_events_url(folder)
    logged, _, note = logged_events(url)
    if note is not None:
        return StepOutcome("fold events", "nothing new", note)
    folded = fold_events(folder, logged)
    figures = {"added": folded.added, "already_in_feed": folded.already, "total": folded.total}
    if not folded.added:
        return StepOutcome("fold events", "nothing new",
                           f"the feed already holds all {logged.height:,} logged events",
                           figures=figures)  # fmt: skip
    first = folded.first_added
    return StepOutcome(
        "fold events",
        "done",
        f"{folded.added:,} events added ({folded.already:,} already in the feed)",
        figures=figures,
        links={"first_added": first.isoformat()} if first else {},
    )


def build_features(folder: Path, report: RetrainReport) -> StepOutcome:
    """Build the new feature days; rebuild when folded events fall on built days (an
    incremental build only adds days after the last one it built)."""
    from features.config import FeatureConfig
    from features.store import built_through

    built = built_through(folder, load_config(FeatureConfig, None, name="features").store)
    folded = next((s for s in report.steps if s.step == "fold events" and s.status == "done"),
                  None)  # fmt: skip
    first = _first_added_day(folded)
    rebuild = built is not None and first is not None and first <= built
    result = features.build(folder, rebuild=rebuild)
    rows = sum(result.new_rows.values())
    how = "rebuilt (folded events fall on built days)" if rebuild else "incremental"
    status: Status = "nothing new" if result.up_to_date else "done"
    detail = f"{how}: {rows:,} new rows, built through {result.built_through}"
    return StepOutcome("features", status, detail, figures={"new_rows": rows})


def _first_added_day(folded: StepOutcome | None) -> dt.date | None:
    """The (UTC) day of the earliest event the fold added."""
    if folded is None or "first_added" not in folded.links:
        return None
    return dt.datetime.fromisoformat(folded.links["first_added"]).astimezone(dt.UTC).date()


def retrain_family(folder: Path, family: Family, cfg: RetrainConfig) -> StepOutcome:
    """Train the family's challenger, then gate it against the champion on the same
    fresh holdout (``models promote``: its checks become the step's figures). A family
    the shop's feeds cannot train (the recommender of a shop without events) is
    skipped, with the feed it lacks."""
    missing = _missing_feed(folder, family)
    if missing is not None:
        return StepOutcome(family, "skipped", missing)
    trained = _train(folder, family, cfg)
    config = recommender_config(cfg) if family == "recommender" else None
    promotion = models.promote(models.FAMILIES[family], folder, config)
    links = {**trained, "model": models.FAMILIES[family],
             "champion_before": promotion.champion_before, "challenger": promotion.challenger,
             "promotion_run": promotion.run_id or ""}  # fmt: skip
    figures: dict[str, float] = {}
    for check in promotion.checks:
        figures[f"gate/{check.name}/challenger"] = check.challenger
        figures[f"gate/{check.name}/champion"] = check.champion
        figures[f"gate/{check.name}/passed"] = float(check.passed)
    status: Status = "promoted" if promotion.promoted else "kept champion"
    return StepOutcome(family, status, promotion.reason, figures=figures, links=links)


def _missing_feed(folder: Path, family: Family) -> str | None:
    """Why the shop's feeds cannot train ``family`` (``None``: they can)."""
    if family != "recommender":
        return None  # demand and elasticity learn from the demand rows of sales or events
    try:
        require_feeds(folder, "train recommender", train.RECOMMENDER_NEEDS)
    except FeedValidationError as exc:
        return f"{exc} — nothing to retrain"
    return None


def recommender_config(cfg: RetrainConfig) -> Path:
    """The recommender's training YAML (a stem in ``configs/`` or a path)."""
    named = cfg.recommender_config
    return Path(named) if named.endswith((".yaml", ".yml")) else config_dir() / f"{named}.yaml"


def _train(folder: Path, family: Family, cfg: RetrainConfig) -> dict[str, str]:
    """Fit one family on the current feeds and features; the ids of what it made."""
    if family == "recommender":
        path = recommender_config(cfg)
        report = train.recommender(folder, path if path.exists() else None, path.stem)
        return {"training_run": report.run_id, "version": str(report.model_version)}
    if family == "demand":
        demand = train.demand(folder)
        return {"training_run": demand.run_id, "version": str(demand.model_version)}
    elasticity = train.elasticity(folder)
    made = {"training_run": getattr(elasticity.report, "run_id", None),
            "version": getattr(elasticity.report, "model_version", None)}  # fmt: skip
    return {k: str(v) for k, v in made.items() if v}


def reload(folder: Path, url: str | None, report: RetrainReport, timeout: float) -> StepOutcome:
    """Tell the running service to reload (admin key), when anything changed."""
    changed = [s.step for s in report.steps if s.status in ("done", "promoted")]
    if url is None:
        return StepOutcome("reload", "skipped", "no service configured (service.url: null)")
    if not changed:
        return StepOutcome("reload", "skipped", "nothing changed since the service loaded")
    request = urllib.request.Request(
        url.rstrip("/") + "/admin/reload",
        data=b"{}",
        headers={"content-type": "application/json", "x-api-key": service_keys(folder).admin},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        reason = "the admin key was refused" if exc.code in (401, 403) else exc.reason
        return StepOutcome("reload", "failed", f"{url} answered {exc.code}: {reason}")
    except OSError as exc:
        return StepOutcome("reload", "skipped",
                           f"no service answers at {url} ({exc}); it loads the champions "
                           "when it starts")  # fmt: skip
    versions = body.get("model_versions", {})
    degraded = body.get("degraded_reasons") or []
    detail = "reloaded: " + ", ".join(f"{k} v{v}" for k, v in sorted(versions.items()))
    if degraded:
        return StepOutcome("reload", "failed", f"{detail}; degraded: {'; '.join(degraded)}")
    return StepOutcome("reload", "done", detail, links={"versions": json.dumps(versions)})
