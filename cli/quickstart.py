"""The main job: from nothing to a trained, registered shop in one command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import DataDir, SimulationYaml, app, user_errors
from cli.data import print_feeds
from cli.experiments import print_simulated
from cli.features import print_build
from cli.inventory import print_alerts
from cli.pricing import print_ledger, print_proposal
from cli.retrain import print_retrain
from cli.train import print_demand, print_elasticity, print_recommender
from jobs import quickstart
from jobs.service import serve_until_stopped
from storefront.progress import console


def _print_priced(priced: quickstart.Priced) -> None:
    print_proposal(priced.proposal, hint=priced.approval is None)
    if priced.approval is not None:
        print_ledger(priced.approval)


def _print_served(served: quickstart.Served) -> None:
    print_simulated(served.results)
    url = served.url
    console.print(
        f"[bold]the shop is served at {url}[/]\n"
        f"  Swagger UI: {url}/   OpenAPI: {url}/docs.json\n"
        f"  pages (log in with the admin key): KPI dashboard {url}/dashboard   "
        f"pricing desk {url}/pricing   algorithm audit {url}/audit\n"
        f"  experiment reports: {url}/reports/<name> (admin key), and under {served.reports}\n"
        + (
            f"  keys: admin (X-API-Key) in {served.keys.admin_file}, "
            f"ingest (X-Ingest-Key, POST /events) in {served.keys.ingest_file}\n"
            if served.keys is not None
            else ""
        )
        + f"  price proposal reports: {served.proposals}/*.html\n"
        f"  MLflow UI: .venv/bin/mlflow ui --backend-store-uri {served.mlflow_uri}"
        f" (then http://127.0.0.1:5000)"
    )


PRINTERS: dict[str, Callable[[Any], None]] = {
    "feeds": print_feeds,
    "features": print_build,
    "recommender": print_recommender,
    "demand": print_demand,
    "elasticity": print_elasticity,
    "priced": _print_priced,
    "alerts": lambda report: print_alerts(report, rows=5),
    "served": _print_served,
    "retrained": print_retrain,
}
"""How each kind of step's report prints."""


@app.command("quickstart")
@user_errors
def quickstart_command(
    data_dir: DataDir = None,
    config: SimulationYaml = None,
    features_config: Annotated[
        Path | None, typer.Option(help="Features YAML (default: configs/features.yaml).")
    ] = None,
    serve: Annotated[
        bool,
        typer.Option(
            help="Then serve the shop, run a short A/B test against the service "
            "and keep serving until Ctrl-C (what `make run` does)."
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the service with --serve.")] = 3000,
) -> None:
    """The main job: simulate a shop, build its feature store, train every model,
    propose and publish prices, list stock alerts."""
    steps = quickstart.plan(data_dir, config, features_config, serve, port)
    served = None
    for number, step in enumerate(steps, start=1):
        console.rule(f"{number}/{len(steps)} {step.title}")
        report = step.run()
        PRINTERS[step.kind](report)
        if isinstance(report, quickstart.Served):
            served = report
    typer.echo("quickstart done")
    if served is not None:
        typer.echo("serving until Ctrl-C (or SIGTERM)")
        serve_until_stopped(served.process)
