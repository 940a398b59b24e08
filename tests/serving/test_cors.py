"""CORS from ``cors.allow_origins`` (none by default) and ``/metrics`` per instance, on
two services of one shop started as ``storefront serve`` is by the quickstart
(``jobs.service.start_service``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobs.service import instance_home, start_service, stop_service
from tests.serving.client import TrainedShop, free_port

pytestmark = pytest.mark.slow
ALLOWED = "https://shop.example.com"
BODY = {"item_ids": ["anything"]}


@pytest.fixture(scope="module")
def instances(
    trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """``open`` (CORS for :data:`ALLOWED`) answers three ``/price`` calls before
    ``plain`` (the default settings) starts on the same host."""
    folder = tmp_path_factory.mktemp("instances")
    running = []
    bases: dict[str, str] = {}
    try:
        for name, extra in (("open", f"cors:\n  allow_origins: [{ALLOWED}]\n"), ("plain", "")):
            config = folder / f"{name}.yaml"
            config.write_text(f'log:\n  file: ""\n{extra}')
            port = free_port()
            running.append(
                start_service(trained_shop.data_dir, port, folder / f"{name}.log", config=config)
            )
            bases[name] = f"http://127.0.0.1:{port}"
            if name == "open":
                for _ in range(3):
                    assert httpx.post(bases[name] + "/price", json=BODY).status_code == 200
        yield bases
    finally:
        for process in running:
            stop_service(process)


def _price_calls(metrics: str) -> float:
    """Requests to ``/price`` counted in a ``/metrics`` answer."""
    total = 0.0
    for line in metrics.splitlines():
        if "request_total{" in line and 'endpoint="/price"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_each_instance_has_its_own_metrics(
    instances: dict[str, str], trained_shop: TrainedShop
) -> None:
    opened = httpx.get(instances["open"] + "/metrics").text
    plain = httpx.get(instances["plain"] + "/metrics").text
    assert _price_calls(opened) == 3, "the second service's start kept the first's counts"
    assert _price_calls(plain) == 0, "the second service does not count the first's calls"
    homes = [
        instance_home(trained_shop.data_dir, int(b.rsplit(":", 1)[1])) for b in instances.values()
    ]
    assert all(Path(h, "prometheus_multiproc_dir").is_dir() for h in homes)


def test_an_allowed_origin_may_call_and_read_the_answer_headers(
    instances: dict[str, str],
) -> None:
    preflight = httpx.options(
        instances["open"] + "/recommend",
        headers={"origin": ALLOWED, "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    answer = httpx.post(instances["open"] + "/price", json=BODY, headers={"origin": ALLOWED})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    exposed = re.split(r",\s*", answer.headers["access-control-expose-headers"].lower())
    assert {"x-bentoml-request-id", "server-timing"} <= set(exposed)
    assert answer.headers["x-bentoml-request-id"] == answer.json()["request_id"]


def test_other_origins_and_the_default_get_no_cors(instances: dict[str, str]) -> None:
    other = httpx.post(
        instances["open"] + "/price", json=BODY, headers={"origin": "https://evil.example"}
    )
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    plain = httpx.post(instances["plain"] + "/price", json=BODY, headers={"origin": ALLOWED})
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    preflight = httpx.options(
        instances["plain"] + "/price",
        headers={"origin": ALLOWED, "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
