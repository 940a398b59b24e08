"""Fuzzing the real server against its own OpenAPI document (schemathesis).

Every documented endpoint that takes input (the ``POST`` endpoints and the ``GET`` ones
with a path parameter) gets ``STOREFRONT_FUZZ_CASES`` (1,000) generated cases, half
schema-valid, half schema-breaking, within a time budget; each answer goes through
schemathesis's checks: no 5xx, a status the document lists, its content type, headers
and body schema. Two worker processes generate and send side by side (hypothesis's
generation is the slow part), each on half of the operations.

``/admin/reload``'s valid bodies are three (``load_challenger`` true, false or absent)
and each rebuilds the service's whole state, so its schema-valid half is
:data:`RELOAD_VALID` cases; its invalid half gets the full count.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import schemathesis

from storefront.config import PROJECT_ROOT
from tests.serving import client
from tests.serving.client import Server, TrainedShop
from tests.serving.fuzzing import Job, Outcome, run_jobs

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

CASES = int(os.environ.get("STOREFRONT_FUZZ_CASES", "1000"))
"""Generated cases per endpoint (half positive, half negative)."""
BUDGET_SECONDS = float(os.environ.get("STOREFRONT_FUZZ_SECONDS", "240"))
"""Time for the whole fuzz run; each endpoint gets its share, cases past it are not sent."""
WORKERS = 2
RELOAD_VALID = 30
"""Schema-valid cases of ``/admin/reload`` (3 distinct bodies, each a full state rebuild)."""
SLOW_LAST = ("POST /events", "POST /bought_together")
"""The slowest operations to generate run last in their worker: they get the time the
others left over."""


def _headers() -> dict[str, str]:
    return {"X-API-Key": client.ADMIN_KEY, "X-Ingest-Key": client.INGEST_KEY}


def _fuzzed(server: Server) -> list[str]:
    api = schemathesis.openapi.from_url(server.base + "/docs.json")
    operations = [r.ok() for r in api.get_all_operations()]
    labels = [op.label for op in operations if op.method.upper() == "POST" or "{" in op.path]
    return sorted(labels, key=lambda label: label in SLOW_LAST)


def _plans(labels: list[str], started: float) -> list[list[Job]]:
    """The operations dealt to the workers in turn, each worker's time split evenly over
    its jobs (a job's deadline is cumulative: time one leaves over goes to the next)."""
    plans: list[list[Job]] = [[] for _ in range(WORKERS)]
    for n, label in enumerate(labels):
        for mode in ("positive", "negative"):
            cases = (
                RELOAD_VALID if (label, mode) == ("POST /admin/reload", "positive") else CASES // 2
            )
            plans[n % WORKERS].append(Job(label, mode, cases, 0.0))
    for plan in plans:
        share = BUDGET_SECONDS / max(len(plan), 1)
        plan[:] = [Job(j.label, j.mode, j.cases, started + share * (k + 1))
                   for k, j in enumerate(plan)]  # fmt: skip
    return plans


def test_fuzz_finds_no_server_error_and_no_undocumented_answer(
    server: Server, trained_shop: TrainedShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = _fuzzed(server)
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))  # spawned workers import tests.serving
    assert len(labels) >= 10, labels
    started = time.time()
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        futures = [pool.submit(run_jobs, server.base, _headers(), trained_shop.known_items, plan)
                   for plan in _plans(labels, started)]  # fmt: skip
        outcomes: list[Outcome] = [o for f in futures for o in f.result()]
    took = time.time() - started
    per_endpoint: dict[str, int] = {}
    for o in outcomes:
        per_endpoint[o.label] = per_endpoint.get(o.label, 0) + o.sent
    summary = "\n".join(
        f"{o.label} {o.mode}: {o.sent} sent{' (time share over)' * o.out_of_time}, "
        f"statuses {dict(sorted(o.statuses.items()))}"
        for o in outcomes
    )
    print(f"fuzzed in {took:.0f} s, {sum(per_endpoint.values()):,} cases\n{summary}\n"
          f"per endpoint: {per_endpoint}")  # fmt: skip
    server_errors = {f"{o.label} {o.mode}": {s: n for s, n in o.statuses.items() if s >= 500}
                     for o in outcomes}  # fmt: skip
    detail = "\n\n".join(
        f"== {o.label} {o.mode}\n" + "\n".join(f"-- {k}\n{v}" for k, v in o.failures.items())
        for o in outcomes
        if o.failures
    )
    assert not any(server_errors.values()), f"5xx answers: {server_errors}\n{detail}"
    assert not detail, detail
    assert all(o.sent > 0 for o in outcomes), summary
