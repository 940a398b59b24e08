"""``storefront scheduler``: ``retrain`` and ``features build`` on cron schedules.

APScheduler runs both jobs from ``configs/retrain.yaml``'s ``schedule`` in one worker
thread, so in this process they never overlap (a run due while another is going waits,
``coalesce`` folds a backlog into one run, ``max_instances=1``). The shop's run lock
keeps them apart from a retrain started by hand or by another scheduler too: a run
that finds it held is skipped and recorded. Every run ends in one line of the shop's
retrain history and one log line.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs import features, retrain
from jobs.shop import open_shop
from retraining import history
from retraining.config import RetrainConfig, ScheduleSettings
from retraining.lock import RunInProgressError, exclusive
from storefront.config import load_config
from storefront.workspace import workspace

log = logging.getLogger(__name__)

RETRAIN, FEATURES = "retrain", "features build"


@dataclass
class SchedulerReport:
    """What a scheduler ran before it stopped."""

    runs: list[dict[str, object]] = field(default_factory=list)


def cron(expression: str, timezone: str) -> CronTrigger:
    """A trigger from a cron expression: ``minute hour day month weekday``, or with a
    leading seconds field (weekdays by name: ``retraining.config`` refuses numbers)."""
    fields = expression.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    second, minute, hour, day, month, weekday = fields
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=weekday, timezone=timezone)  # fmt: skip


def build_scheduler(
    data_dir: Path,
    config: Path | None = None,
    on_run: Callable[[dict[str, object]], None] | None = None,
) -> BlockingScheduler:
    """The scheduler of one shop (not started).

    Args:
        data_dir: The shop folder.
        config: Retrain YAML (default ``configs/retrain.yaml``).
        on_run: Called with each run's history record.
    """
    folder = open_shop(data_dir)
    cfg = load_config(RetrainConfig, config, name="retrain")
    schedule: ScheduleSettings = cfg.schedule
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": schedule.misfire_grace_seconds},
        timezone=schedule.timezone,
    )  # fmt: skip

    def record(kind: str, status: str, started: dt.datetime, **extra: object) -> None:
        entry = {"kind": kind, "status": status, "started_at": started.isoformat(),
                 "finished_at": dt.datetime.now(dt.UTC).isoformat(), "scheduled": True,
                 **extra}  # fmt: skip
        if kind != RETRAIN or status == "skipped":  # a retrain writes its own line
            history.append(workspace(folder).retrain_history, entry)
        log.info("scheduled %s: %s %s", kind, status, extra.get("detail", ""))
        if on_run is not None:
            on_run(entry)

    def run_retrain() -> None:
        started = dt.datetime.now(dt.UTC)
        try:
            report = retrain.run(folder, config=config)
        except RunInProgressError as exc:
            record(RETRAIN, "skipped", started, detail=str(exc))
            return
        status = "failed" if report.failed else "finished"
        detail = f"promoted: {', '.join(report.promoted) or 'none'}"
        if report.failed:
            detail += f"; failed: {', '.join(report.failed)}"
        record(RETRAIN, status, started, detail=detail, run_id=report.run_id)

    def run_features() -> None:
        started = dt.datetime.now(dt.UTC)
        try:
            with exclusive(workspace(folder).retrain_lock):
                built = features.build(folder)
        except RunInProgressError as exc:
            record(FEATURES, "skipped", started, detail=str(exc))
            return
        rows = sum(built.new_rows.values())
        record(FEATURES, "finished", started, detail=f"{rows:,} new rows")

    scheduler.add_job(run_retrain, cron(schedule.retrain, schedule.timezone), id=RETRAIN,
                      name=RETRAIN)  # fmt: skip
    if schedule.features is not None:
        scheduler.add_job(run_features, cron(schedule.features, schedule.timezone),
                          id=FEATURES, name=FEATURES)  # fmt: skip
    scheduler.add_listener(_log_crash, EVENT_JOB_ERROR | EVENT_JOB_EXECUTED)
    return scheduler


def _log_crash(event: JobExecutionEvent) -> None:
    """A job that raised (a bug: failures are recorded by the jobs themselves)."""
    if event.exception is not None:
        log.error("scheduled %s crashed: %s", event.job_id, event.exception)


def run_scheduler(
    data_dir: Path | None, config: Path | None = None, stop_after: int | None = None
) -> SchedulerReport:
    """Run the schedule until interrupted (Ctrl-C, SIGTERM: no new runs start, and a
    running one is waited for) or, with ``stop_after``, until that many retrains have
    ended.

    Args:
        data_dir: The shop folder.
        config: Retrain YAML (default ``configs/retrain.yaml``).
        stop_after: Stop after this many retrain runs (skipped ones included).
    """
    report = SchedulerReport()
    holder: list[BlockingScheduler] = []

    def on_run(entry: dict[str, object]) -> None:
        report.runs.append(entry)
        retrains = sum(1 for r in report.runs if r["kind"] == RETRAIN)
        if stop_after is not None and retrains >= stop_after:
            holder[0].shutdown(wait=False)

    scheduler = build_scheduler(open_shop(data_dir), config, on_run)
    holder.append(scheduler)
    for job in scheduler.get_jobs():
        log.info("%s: %s", job.name, job.trigger)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # systemd's stop, `kill`
    try:
        scheduler.start()
    except KeyboardInterrupt:
        log.info("stopping: no new runs; waiting for a running one to end (Ctrl-C again "
                 "abandons it)")  # fmt: skip
        scheduler.shutdown(wait=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return report


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
