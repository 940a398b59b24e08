"""Headers every answer carries: one request id, its server time, and CORS.

:class:`AnswerHeadersMiddleware` wraps the service (ASGI):

- ``x-bentoml-request-id`` of a JSON answer whose body has a ``request_id`` is that id
  (BentoML's own header is its tracing span's id, unrelated to the body's), so a
  storefront logs one id per request wherever it reads it;
- ``server-timing: app;dur=<ms>`` on every answer: the milliseconds from the request's
  arrival at the service to its answer's start (queueing under load included).

:func:`cors_options` turns ``cors`` of ``configs/serving.yaml`` into Starlette's
``CORSMiddleware`` options; an empty allow-list (the default) installs no CORS at all,
so browsers on other origins cannot call the service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from serving.config import CorsConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-bentoml-request-id"
TIMING_HEADER = b"server-timing"
EXPOSED_HEADERS = ("x-bentoml-request-id", "server-timing", "retry-after")
"""Answer headers browser code may read (CORS ``Access-Control-Expose-Headers``)."""
MAX_HELD_BYTES = 4_000_000
"""JSON answers larger than this keep BentoML's request id header (never this large)."""


def cors_options(cfg: CorsConfig) -> dict[str, Any] | None:
    """Starlette ``CORSMiddleware`` options from the settings; ``None`` when no origin is
    allowed (no CORS middleware: cross-origin browser calls fail)."""
    if not cfg.allow_origins:
        return None
    return {
        "allow_origins": list(cfg.allow_origins),
        "allow_methods": ["GET", "POST"],
        "allow_headers": list(cfg.allow_headers),
        "expose_headers": list(EXPOSED_HEADERS),
        "max_age": cfg.max_age_seconds,
    }


def _body_request_id(body: bytes) -> str | None:
    """The ``request_id`` of a JSON object answer, else ``None``."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    found = data.get("request_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found.isprintable() else None


def _timing(started: float) -> tuple[bytes, bytes]:
    return TIMING_HEADER, f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()


def _with(headers: list[Any], name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``name`` set to ``value`` (any earlier value replaced)."""
    kept = [(k, v) for k, v in headers if bytes(k).lower() != name]
    return [*kept, (name, value)]


def _is_json(headers: list[Any]) -> bool:
    for name, value in headers:
        if bytes(name).lower() == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == b"application/json"
    return False


class AnswerHeadersMiddleware:
    """ASGI middleware: the body's request id in ``x-bentoml-request-id``, and
    ``server-timing`` on every answer.

    Args:
        app: The wrapped ASGI app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        held: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def flush(request_id: str | None) -> None:
            nonlocal held
            assert held is not None
            headers = list(held.get("headers") or [])
            if request_id is not None:
                headers = _with(headers, REQUEST_ID_HEADER, request_id.encode())
            body = b"".join(chunks)
            headers = _with(headers, b"content-length", str(len(body)).encode())
            start, held = {**held, "headers": _with(headers, *_timing(started))}, None
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        async def sending(message: Message) -> None:
            nonlocal held, size
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if _is_json(headers) and scope.get("method") == "POST":
                    held = message  # sent with the body, once its request id is known
                    return
                await send({**message, "headers": _with(headers, *_timing(started))})
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_HELD_BYTES:  # not an answer of ours: pass it on as it comes
                more = bool(message.get("more_body", False))
                start, held = {**held, "headers": _with(held["headers"], *_timing(started))}, None
                await send(start)
                body = b"".join(chunks)
                await send({"type": "http.response.body", "body": body, "more_body": more})
                return
            if not message.get("more_body", False):
                await flush(_body_request_id(b"".join(chunks)))

        await self.app(scope, receive, sending)
