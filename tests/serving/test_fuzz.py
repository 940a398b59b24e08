"""Fuzzing the real server against its own OpenAPI document (schemathesis).

Every documented endpoint that takes input (the ``POST`` endpoints and ``GET
/reports/{name}``) gets ``STOREFRONT_FUZZ_CASES`` (1,000) generated cases, half
schema-valid, half schema-breaking, within a time budget; each answer goes through
schemathesis's checks: no 5xx, a status the document lists, its content type, headers
and body schema. Failures are collected (not shrunk) so one run reports them all, with
the body sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import unittest
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving import client
from tests.serving.client import Server, TrainedShop

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

CASES = int(os.environ.get("STOREFRONT_FUZZ_CASES", "1000"))
"""Generated cases per endpoint (half positive, half negative)."""
BUDGET_SECONDS = float(os.environ.get("STOREFRONT_FUZZ_SECONDS", "200"))
"""Time for the whole fuzz run; each endpoint gets its share, cases past it are not sent."""
IN_FLIGHT = 3
"""Requests at once (below the server's ``overload.max_in_flight``, so nothing is shed)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class _OutOfTime(unittest.SkipTest):
    """Ends a run at its time share (hypothesis re-raises skips at once, no shrinking)."""


KNOWN_5XX: dict[str, str] = {}
"""Known server errors awaiting a fix elsewhere: operation label -> reason."""


@pytest.fixture(scope="module")
def api(server: Server) -> Any:
    return schemathesis.openapi.from_url(server.base + "/docs.json")


def _headers() -> dict[str, str]:
    headers = {"X-API-Key": client.ADMIN_KEY}
    ingest = getattr(client, "INGEST_KEY", None)  # the ingest key, once the server has one
    if ingest:
        headers["X-Ingest-Key"] = ingest
    return headers


def _fuzzed(api: Any) -> list[Any]:
    operations = [r.ok() for r in api.get_all_operations()]
    fuzzed = [op for op in operations if op.method.upper() == "POST" or "{" in op.path]
    return sorted(fuzzed, key=lambda op: op.path == "/events")  # the slowest to generate
    # last: it gets the time the others left over


def _anchor_events(case: Any, items: list[str], now: dt.datetime) -> None:
    """Schema-valid ``/events`` bodies on the shop's items, stamped around now, as views
    (no quoted price to match), so they pass the checks beyond the schema and reach the
    store; quantities, prices, ids and the rest stay generated."""
    events = case.body.get("events") if isinstance(case.body, dict) else None
    for i, event in enumerate(events if isinstance(events, list) else []):
        if isinstance(event, dict):
            event["item_id"] = items[(len(str(event.get("event_id"))) + i) % len(items)]
            event["timestamp"] = (now - dt.timedelta(minutes=i)).isoformat()
            event["event_type"] = "view"


def _run(
    operation: Any, mode: GenerationMode, base: str, until: float, items: list[str]
) -> dict[str, Any]:
    """Up to ``CASES // 2`` cases of ``operation`` in ``mode`` until ``until``: the
    statuses, the failures (first example of each kind) and whether time ran out.

    Requests go out from a few threads while hypothesis generates the next cases (the
    generation and the server's work overlap)."""
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}
    headers = _headers()
    lock = threading.Lock()

    def send(case: Any) -> None:
        try:
            response = case.call(base_url=base, headers=headers, timeout=60)
        except Exception as exc:  # no answer at all (connection reset, timeout)
            with lock:
                statuses[0] += 1
                failures.setdefault(f"no answer: {type(exc).__name__}", _body(case))
            return
        with lock:
            statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup
            kind = f"{response.status_code} {type(exc).__name__}: {str(exc).splitlines()[0]}"
            with lock:
                failures.setdefault(kind[:300], f"{exc}\nbody sent: {_body(case)}"[:3000])

    pending: set[Future[None]] = set()

    @settings(
        max_examples=CASES // 2,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        nonlocal pending
        if time.monotonic() > until:
            raise _OutOfTime
        if mode == GenerationMode.POSITIVE and operation.path == "/events":
            _anchor_events(case, items, dt.datetime.now(dt.UTC))
        if len(pending) >= IN_FLIGHT:
            _, pending = wait(pending, return_when=FIRST_COMPLETED)
        pending.add(pool.submit(send, case))

    out_of_time = False
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        try:
            fuzz()
        except _OutOfTime:
            out_of_time = True
        wait(pending)
    return {"statuses": statuses, "failures": failures, "out_of_time": out_of_time}


def _body(case: Any) -> str:
    try:
        return json.dumps(case.body)[:1000]
    except (TypeError, ValueError):
        return repr(case.body)[:1000]


def test_fuzz_finds_no_server_error_and_no_undocumented_answer(
    server: Server, api: Any, trained_shop: TrainedShop
) -> None:
    operations = _fuzzed(api)
    assert len(operations) >= 10, [op.label for op in operations]
    items = trained_shop.known_items
    started = time.monotonic()
    share = BUDGET_SECONDS / (2 * len(operations))
    report: dict[str, dict[str, Any]] = {}
    for i, operation in enumerate(operations):
        for j, mode in enumerate((GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
            until = started + share * (2 * i + j + 1)
            report[f"{operation.label} {mode.value}"] = _run(
                operation, mode, server.base, until, items
            )
    took = time.monotonic() - started
    summary = "\n".join(
        f"{label}: {sum(r['statuses'].values())} sent{' (time share over)' * r['out_of_time']}, "
        f"statuses {dict(sorted(r['statuses'].items()))}"
        for label, r in report.items()
    )
    print(f"fuzzed in {took:.0f} s\n{summary}")
    server_errors = {
        label: {s: n for s, n in r["statuses"].items() if s >= 500} for label, r in report.items()
    }
    failures = {label: r["failures"] for label, r in report.items() if r["failures"]}
    detail = "\n\n".join(
        f"== {label}\n" + "\n".join(f"-- {kind}\n{example}" for kind, example in found.items())
        for label, found in failures.items()
    )
    assert not any(server_errors.values()), f"5xx answers: {server_errors}\n{detail}"
    assert not failures, detail
    sent = {label: sum(r["statuses"].values()) for label, r in report.items()}
    assert all(n > 0 for n in sent.values()), sent
