"""The learning loop: ``storefront retrain`` once, ``storefront scheduler`` on a schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, app, table, user_errors
from jobs import retrain, scheduler
from retraining.config import FAMILIES
from retraining.lock import RunInProgressError

RetrainYaml = Annotated[
    Path | None, typer.Option(help="Retrain YAML (default: configs/retrain.yaml).")
]


def _families(value: str | None) -> list[str] | None:
    if value is None:
        return None
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in FAMILIES]
    if unknown or not chosen:
        raise typer.BadParameter(
            f"unknown model famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)} "
            f"(choose from {', '.join(FAMILIES)})"
        )
    return chosen


def print_retrain(report: retrain.RetrainReport) -> None:
    """Each step's outcome and why, then what was promoted."""
    rows = [[s.step, s.status, f"{s.seconds:.1f}", s.detail] for s in report.steps]
    table("retrain", ["step", "outcome", "s", "detail"], rows)
    typer.echo(f"promoted: {', '.join(report.promoted) or 'nothing'}; MLflow run {report.run_id}")
    if report.failed:
        typer.echo(f"failed: {', '.join(report.failed)} (their champions stay)")


@app.command("retrain")
@user_errors
def retrain_command(
    data_dir: DataDir = None,
    only: Annotated[
        str | None,
        typer.Option(help=f"Only these families, comma-separated ({', '.join(FAMILIES)})."),
    ] = None,
    config: RetrainYaml = None,
    service_url: Annotated[
        str | None,
        typer.Option(help="The service to reload (default: the config's service.url)."),
    ] = None,
) -> None:
    """Fold the service's events into the feeds, build the new feature days, retrain
    each model family, gate each challenger against its champion, promote what passes
    and reload the running service. Exits 1 when a step failed (its champion stays)."""
    try:
        report = retrain.run(data_dir, _families(only), config, service_url)  # type: ignore[arg-type]
    except RunInProgressError as exc:
        raise ValueError(str(exc)) from exc
    print_retrain(report)
    if report.failed:
        raise typer.Exit(code=1)


@app.command("scheduler")
@user_errors
def scheduler_command(
    data_dir: DataDir = None,
    config: RetrainYaml = None,
    stop_after: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many retrains (default: never).")
    ] = None,
) -> None:
    """Run ``retrain`` and ``features build`` on the cron schedules of
    configs/retrain.yaml until stopped (Ctrl-C or SIGTERM); two runs never overlap."""
    report = scheduler.run_scheduler(data_dir, config, stop_after)
    for run in report.runs:
        typer.echo(f"{run['started_at']} {run['kind']}: {run['status']} {run.get('detail', '')}")
