"""``storefront serve``: the HTTP service (BentoML) for one shop."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, app
from jobs.service import instance_home
from storefront.config import PROJECT_ROOT, default_data_dir

SERVICE = "serving.service:Storefront"


@app.command()
def serve(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="TCP port.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0: every interface).")] = (
        "127.0.0.1"
    ),
    config: Annotated[
        Path | None, typer.Option(help="Serving YAML (default: configs/serving.yaml).")
    ] = None,
) -> None:
    """Serve recommendations, prices, forecasts and event intake over HTTP.

    Loads the champion recommender from the MLflow registry (or its local copy), reads
    the shop's feeds and feature store, and answers until stopped (Ctrl-C). The admin
    key comes from $STOREFRONT_ADMIN_KEY; OpenAPI at http://HOST:PORT/docs.json.
    """
    if data_dir is not None:
        os.environ["STOREFRONT_DATA_DIR"] = str(data_dir.resolve())
    if config is not None:
        if not config.exists():
            typer.echo(f"error: config file {config} does not exist", err=True)
            raise typer.Exit(code=1)
        os.environ["STOREFRONT_SERVING_CONFIG"] = str(config.resolve())
    for name in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS"):  # small requests: no thread pools
        os.environ.setdefault(name, "1")
    home = instance_home((data_dir or default_data_dir()).resolve(), port)
    home.mkdir(parents=True, exist_ok=True)  # its own /metrics folder (see instance_home)
    os.environ.setdefault("BENTOML_HOME", str(home))
    typer.echo(f"serving on http://{host}:{port} (OpenAPI: /docs.json); Ctrl-C stops it")
    sys.stdout.flush()
    args = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port)]
    os.execv(sys.executable, [*args[:1], *args[1:], "--working-dir", str(PROJECT_ROOT)])
