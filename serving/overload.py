"""Bounded work under overload: a concurrency limit with a short queue, shedding the rest.

:class:`OverloadMiddleware` wraps the BentoML app (ASGI). At most ``max_in_flight``
requests run at once; up to ``max_queue`` more wait (first come, first served) for at
most ``max_wait_seconds``; anything beyond is answered at once with 503, a JSON error
body (``{"error": ..., "fields": []}``) and ``Retry-After``. A queued request whose
client hangs up (``http.disconnect``) is dropped without running, so nothing is served
to clients that have left. Health and metrics endpoints are never shed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)
EXEMPT = ("/livez", "/readyz", "/metrics", "/healthz")
"""Paths never shed (probes must see a busy service as alive)."""
LOG_EVERY_SECONDS = 10.0


class OverloadMiddleware:
    """ASGI middleware: concurrency limit, bounded queue, immediate 503 for the excess.

    Args:
        app: The wrapped ASGI app.
        max_in_flight: Requests running at once.
        max_queue: Requests waiting for a slot; more are shed at once.
        retry_after_seconds: ``Retry-After`` of a shed request.
        max_wait_seconds: A queued request waiting longer is shed (0: no limit).
        exempt: Path prefixes never limited.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int = 8,
        max_queue: int = 32,
        retry_after_seconds: int = 1,
        max_wait_seconds: float = 5.0,
        exempt: Iterable[str] = EXEMPT,
    ) -> None:
        if max_in_flight < 1 or max_queue < 0:
            raise ValueError("max_in_flight must be >= 1 and max_queue >= 0")
        self.app, self.max_in_flight, self.max_queue = app, max_in_flight, max_queue
        self.retry_after, self.max_wait = int(retry_after_seconds), float(max_wait_seconds)
        self.exempt = tuple(exempt)
        self.in_flight = 0
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.shed = 0
        """Requests answered 503 (queue full or waited too long)."""
        self.dropped = 0
        """Queued requests whose client left before they ran."""
        self._logged_at = -float("inf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if self.in_flight < self.max_in_flight and not self.waiting:
            self.in_flight += 1
            await self._run(scope, receive, send)
            return
        if len(self.waiting) >= self.max_queue:
            await self._shed(send, "queue full")
            return
        await self._queued(scope, receive, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    def _release(self) -> None:
        """Hand the slot to the first waiter still waiting, else free it."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def _leave(self, slot: asyncio.Future[None]) -> None:
        """Give up a place in the queue (passing the slot on if it had reached us)."""
        if slot.done() and not slot.cancelled():
            self._release()
            return
        slot.cancel()
        with contextlib.suppress(ValueError):
            self.waiting.remove(slot)

    async def _queued(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        slot: asyncio.Future[None] = loop.create_future()
        self.waiting.append(slot)
        buffered: list[Message] = []
        listening: asyncio.Task[Message] | None = None
        deadline = loop.time() + self.max_wait if self.max_wait > 0 else None
        try:
            while not slot.done():
                if listening is None:
                    listening = asyncio.ensure_future(receive())
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    {slot, listening}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if listening in done:
                    message, listening = listening.result(), None
                    if message["type"] == "http.disconnect":
                        self.dropped += 1
                        self._leave(slot)
                        return  # the client left: never run it
                    buffered.append(message)
                elif not done:  # waited too long
                    self._leave(slot)
                    await self._shed(send, "waited too long")
                    return
        except BaseException:
            if listening is not None:
                listening.cancel()
            self._leave(slot)
            raise
        pending = listening  # a receive() still waiting: the app gets its message

        async def replay() -> Message:
            nonlocal pending
            if buffered:
                return buffered.pop(0)
            if pending is not None:
                task, pending = pending, None
                return await task
            return await receive()

        await self._run(scope, replay, send)

    async def _shed(self, send: Send, why: str) -> None:
        self.shed += 1
        now = time.monotonic()
        if now - self._logged_at > LOG_EVERY_SECONDS:
            self._logged_at = now
            log.warning(
                "overloaded (%s): shedding requests (%d shed, %d dropped so far; %d running, "
                "%d queued)", why, self.shed, self.dropped, self.in_flight, len(self.waiting),
            )  # fmt: skip
        body = json.dumps(
            {
                "error": f"service overloaded ({why}); retry after {self.retry_after} s",
                "fields": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
