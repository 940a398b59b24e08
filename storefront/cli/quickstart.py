"""The main job: from nothing to a trained, registered shop in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storefront.cli.common import DataDir, SimulationYaml, app, print_summary, user_errors
from storefront.cli.data import simulate_feeds
from storefront.cli.features import build_features
from storefront.cli.inventory import inventory_alerts
from storefront.cli.pricing import propose_prices
from storefront.cli.train import train_demand, train_elasticity, train_recommender
from storefront.config import default_data_dir
from storefront.feeds import read_feeds
from storefront.progress import console, progress_bar
from storefront.workspace import workspace

QUICKSTART_APPROVER = "quickstart (demo sign-off)"


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
    data_dir = data_dir or default_data_dir()
    steps = (
        ("simulate", lambda: simulate_feeds(data_dir, config, seed=None, scale=1.0)),
        ("validate", lambda: _validate(data_dir)),
        ("build the feature store", lambda: build_features(data_dir, features_config, True)),
        ("train recommenders (quick configuration)",
         lambda: train_recommender(data_dir, None, "recommender.quickstart", metrics_out=None)),
        ("train the demand model", lambda: train_demand(data_dir, None, metrics_out=None)),
        ("estimate price elasticities", lambda: train_elasticity(data_dir, None, None)),
        ("propose tomorrow's prices (approved as the quickstart)",
         lambda: _price(data_dir)),
        ("replenishment alerts", lambda: inventory_alerts(data_dir, None, None, rows=5)),
    )  # fmt: skip
    if serve:
        steps += (("serve the shop and run a short A/B test against it",
                   lambda: _serve_and_test(data_dir, port)),)  # fmt: skip
    for number, (title, step) in enumerate(steps, start=1):
        console.rule(f"{number}/{len(steps)} {title}")
        step()
    typer.echo("quickstart done")
    if serve:
        _keep_serving()


_SERVICE: list = []


def _serve_and_test(data_dir: Path, port: int) -> None:
    from storefront.cli.experiments import simulate_experiments
    from storefront.cli.live import start_service, stop_service
    from storefront.config import config_dir
    from training.tracking import tracking_uri

    log = workspace(data_dir).service_log
    with progress_bar(f"starting the service on port {port} (log: {log})", None):
        _SERVICE.append(start_service(data_dir, port, log))
    try:
        simulate_experiments(data_dir, f"http://127.0.0.1:{port}",
                             config_dir() / "traffic.quickstart.yaml", None)  # fmt: skip
    except BaseException:
        stop_service(_SERVICE.pop())
        raise
    url = f"http://127.0.0.1:{port}"
    console.print(
        f"[bold]the shop is served at {url}[/]\n"
        f"  Swagger UI: {url}/   OpenAPI: {url}/docs.json\n"
        f"  experiment reports: {url}/reports/<name>, and under {workspace(data_dir).reports}\n"
        f"  price proposal reports: {workspace(data_dir).proposals}/*.html\n"
        f"  MLflow UI: .venv/bin/mlflow ui --backend-store-uri {tracking_uri(None)}"
        f" (then http://127.0.0.1:5000)"
    )


def _keep_serving() -> None:
    from storefront.cli.live import stop_service

    process = _SERVICE[0]
    typer.echo("serving until Ctrl-C")
    try:
        process.wait()
    except KeyboardInterrupt:
        stop_service(process)


def _validate(data_dir: Path) -> None:
    with progress_bar(f"validating {data_dir}", None):
        feeds = read_feeds(data_dir, required=("events", "catalog", "inventory", "prices"))
    print_summary(feeds, data_dir)


def _price(data_dir: Path) -> None:
    import datetime as dt

    from training.pricing.actions import approve

    proposal_id = propose_prices(data_dir, None, None)
    typer.echo(approve(data_dir, proposal_id, QUICKSTART_APPROVER, dt.datetime.now(dt.UTC)).note)
