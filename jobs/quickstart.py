"""The main job: from nothing to a trained, priced and (optionally) served shop.

:func:`plan` lists the steps; each step's ``run()`` returns its job's report, so the
command line prints each as it comes and tests assert on them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs import data, features, inventory, pricing, retrain, train
from jobs.service import ServiceKeys, service_keys, start_service, stop_service
from jobs.shop import shop_path
from storefront.config import config_dir
from storefront.progress import progress_bar
from storefront.workspace import workspace

QUICKSTART_APPROVER = "quickstart (demo sign-off)"
RETRAIN_CONFIG = "retrain.quickstart.yaml"
"""The quickstart's retrain settings, in the config folder."""


@dataclass(frozen=True)
class Step:
    """One step of the main job: what it is (``kind``, for printing), its title, and
    how to run it."""

    kind: str
    title: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class Priced:
    """Tomorrow's proposal and its approval."""

    proposal: pricing.ProposalJob
    approval: Any


@dataclass(frozen=True)
class Served:
    """The running service, what its short A/B test measured, and where to look."""

    process: subprocess.Popen
    url: str
    results: dict[str, dict[str, Any]]
    reports: Path
    proposals: Path
    mlflow_uri: str
    keys: ServiceKeys | None = None
    """The service's admin and ingest keys (made once in the shop's ``state/serving/``)."""


def plan(
    data_dir: Path | None,
    config: Path | None = None,
    features_config: Path | None = None,
    serve: bool = False,
    port: int = 3000,
) -> list[Step]:
    """The steps of the main job on the shop folder ``data_dir`` (made by the first).

    Args:
        data_dir: The shop folder (default ``data/shop``).
        config: Simulation YAML.
        features_config: Features YAML.
        serve: Then serve the shop and run a short A/B test against it.
        port: Port of the service.
    """
    folder = shop_path(data_dir)
    steps = [
        Step("feeds", "simulate", lambda: data.simulate(folder, config)),
        Step("feeds", "validate",
             lambda: data.validate(folder, ("events", "catalog", "inventory", "prices"))),
        Step("features", "build the feature store",
             lambda: features.build(folder, features_config, rebuild=True)),
        Step("recommender", "train recommenders (quick configuration)",
             lambda: train.recommender(folder, None, "recommender.quickstart")),
        Step("demand", "train the demand model", lambda: train.demand(folder)),
        Step("elasticity", "estimate price elasticities", lambda: train.elasticity(folder)),
        Step("priced", "propose tomorrow's prices (approved as the quickstart)",
             lambda: price(folder)),
        Step("alerts", "replenishment alerts", lambda: inventory.alerts(folder)),
    ]  # fmt: skip
    if serve:
        url = f"http://127.0.0.1:{port}"
        steps.append(
            Step(
                "served",
                "serve the shop and run a short A/B test against it",
                lambda: serve_and_test(folder, port),
            )
        )
        steps.append(Step("retrained", "retrain on the A/B test's events, gate, promote, reload",
                          lambda: retrain.run(folder, config=config_dir() / RETRAIN_CONFIG,
                                              service_url=url)))  # fmt: skip
    return steps


def price(data_dir: Path) -> Priced:
    """Propose the first forecast day's prices and approve them as the quickstart."""
    proposal = pricing.propose(data_dir)
    approval = None
    if proposal.status != "published":
        approval = pricing.approve(proposal.proposal_id, data_dir, QUICKSTART_APPROVER)
    return Priced(proposal, approval)


def serve_and_test(data_dir: Path, port: int) -> Served:
    """Start the service, run a short simulated A/B test against it; the service keeps
    running (stop it with :func:`jobs.service.stop_service`)."""
    from jobs.experiments import simulate
    from storefront.config import config_dir
    from training.tracking import tracking_uri

    ws = workspace(data_dir)
    keys = service_keys(data_dir)  # a local admin and ingest key, made once, owner-only
    with progress_bar(f"starting the service on port {port} (log: {ws.service_log})", None):
        process = start_service(data_dir, port, ws.service_output, keys=keys)
    url = f"http://127.0.0.1:{port}"
    try:
        results = simulate(data_dir, url, config_dir() / "traffic.quickstart.yaml")
    except BaseException:
        stop_service(process)
        raise
    return Served(process, url, results, ws.reports, ws.proposals, tracking_uri(None), keys)
