"""The overload middleware without a server: an ASGI app that sleeps, more concurrent
requests than the limit, the excess shed at once; a client that leaves while queued is
never served."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from serving.overload import OverloadMiddleware

SLEEP = 0.3


class SleepyApp:
    """Sleeps, then answers 200; records the requests it ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "http.request"
        self.ran.append(message.get("body", b"").decode())
        await asyncio.sleep(SLEEP)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def request(
    app: Any, path: str = "/recommend", body: bytes = b"x", disconnect_after: float | None = None
) -> tuple[int, dict[bytes, bytes], bytes, float]:
    """One request through ``app``: status, headers, body and seconds to the answer."""
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnect_after is None:
            await asyncio.sleep(3600)
        await asyncio.sleep(disconnect_after)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    started = time.perf_counter()
    scope = {"type": "http", "path": path, "method": "POST", "headers": []}
    await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    if not sent:
        return 0, {}, b"", elapsed
    start = sent[0]
    return (
        start["status"],
        dict(start["headers"]),
        b"".join(m.get("body", b"") for m in sent[1:]),
        elapsed,
    )


def test_the_excess_is_shed_at_once_with_retry_after() -> None:
    inner = SleepyApp()
    app = OverloadMiddleware(inner, max_in_flight=2, max_queue=2, retry_after_seconds=3)

    async def burst() -> list[tuple]:
        return await asyncio.gather(*(request(app, body=str(i).encode()) for i in range(10)))

    answers = asyncio.run(burst())
    ok = [a for a in answers if a[0] == 200]
    shed = [a for a in answers if a[0] == 503]
    assert len(ok) == 4 and len(shed) == 6, [a[0] for a in answers]
    for _, headers, body, seconds in shed:
        assert headers[b"retry-after"] == b"3"
        assert headers[b"content-type"] == b"application/json"
        answer = json.loads(body)
        assert answer["fields"] == [] and "overloaded" in answer["error"]
        assert seconds < SLEEP / 2, "shed at once, not after waiting"
    assert sorted(inner.ran) == sorted(str(i) for i in range(4))
    assert app.in_flight == 0 and not app.waiting and app.shed == 6


def test_a_queued_request_whose_client_left_never_runs() -> None:
    inner = SleepyApp()
    app = OverloadMiddleware(inner, max_in_flight=1, max_queue=5)

    async def scenario() -> list[tuple]:
        first = asyncio.ensure_future(request(app, body=b"first"))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(request(app, body=b"gone", disconnect_after=0.05))
        await asyncio.sleep(0.01)
        last = asyncio.ensure_future(request(app, body=b"last"))
        return await asyncio.gather(first, gone, last)

    first, gone, last = asyncio.run(scenario())
    assert first[0] == 200 and last[0] == 200
    assert gone[0] == 0, "nothing is sent to a client that left"
    assert inner.ran == ["first", "last"]
    assert app.dropped == 1 and app.in_flight == 0 and not app.waiting


def test_a_request_queued_too_long_is_shed() -> None:
    app = OverloadMiddleware(SleepyApp(), max_in_flight=1, max_queue=5, max_wait_seconds=0.05)

    async def scenario() -> list[tuple]:
        return await asyncio.gather(request(app, body=b"a"), request(app, body=b"b"))

    a, b = asyncio.run(scenario())
    assert a[0] == 200 and b[0] == 503 and b[3] < SLEEP
    assert app.in_flight == 0 and not app.waiting


def test_health_endpoints_are_never_shed() -> None:
    app = OverloadMiddleware(SleepyApp(), max_in_flight=1, max_queue=0)

    async def scenario() -> list[tuple]:
        busy = [request(app, body=b"busy")]
        probes = [request(app, path=p) for p in ("/livez", "/readyz", "/metrics") * 3]
        return await asyncio.gather(*busy, *probes)

    answers = asyncio.run(scenario())
    assert all(a[0] == 200 for a in answers)
