"""One fuzzing worker: schemathesis cases of given operations against the real server.

Hypothesis generates the cases in this process while a few threads send them and check
the answers (generation is the slow part, so the test runs two of these processes side
by side, each on half of the operations). Failures are collected, not shrunk, so one
run reports them all with the body sent.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import unittest
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

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

IN_FLIGHT = 3
"""Requests at once per worker (two workers stay below the server's
``overload.max_in_flight``, so nothing is shed)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Job:
    """Cases of one operation in one mode, sent until ``until`` (``time.time()``)."""

    label: str
    mode: str
    cases: int
    until: float


@dataclass
class Outcome:
    """What one job sent and found."""

    label: str
    mode: str
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    out_of_time: bool = False

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())


class _OutOfTime(unittest.SkipTest):
    """Ends a run at its time share (hypothesis re-raises skips at once, no shrinking)."""


def run_jobs(
    base: str, headers: dict[str, str], items: list[str], jobs: list[Job]
) -> list[Outcome]:
    """Every job in order, against the server at ``base`` (its document at
    ``/docs.json``)."""
    api = schemathesis.openapi.from_url(base + "/docs.json")
    operations = {op.label: op for op in (r.ok() for r in api.get_all_operations())}
    return [_run(operations[job.label], job, base, headers, items) for job in jobs]


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


def _run(operation: Any, job: Job, base: str, headers: dict[str, str], items: list[str]) -> Outcome:
    mode = GenerationMode(job.mode)
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}
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
        max_examples=job.cases,
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
        if time.time() > job.until:
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
    return Outcome(job.label, job.mode, dict(statuses), failures, out_of_time)


def _body(case: Any) -> str:
    try:
        return json.dumps(case.body)[:1000]
    except (TypeError, ValueError):
        return repr(case.body)[:1000]
