"""Security basics: admin API key, body size limit, pseudonymised user ids, and request
errors that name the field.

:class:`GuardMiddleware` wraps the BentoML app (ASGI): it refuses bodies over the size
limit with 413 before reading them whole, refuses ``/admin/*`` calls without the admin
key with 401, and turns BentoML's 400 answer to a body that fails its schema into a 422
whose ``fields`` name every offending field (``events.3.quantity``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ADMIN_PREFIX = "/admin"
DRAIN_FACTOR = 8
"""Bodies over the limit are read and dropped up to this many times the limit, so the
client gets its 413; beyond that the answer comes at once."""
KEY_HEADER = b"x-api-key"


class Pseudonymiser:
    """Keyed HMAC-SHA256 of user ids: stable per key, not reversible without it.

    Args:
        key: The secret; a random one (stable for the process only) when ``None``.
    """

    def __init__(self, key: str | None) -> None:
        self._key = (key or secrets.token_hex(32)).encode()

    def __call__(self, user_id: str | None) -> str | None:
        """The pseudonym of ``user_id`` (16 hex characters), ``None`` for ``None``."""
        if user_id is None:
            return None
        return hmac.new(self._key, user_id.encode(), hashlib.sha256).hexdigest()[:16]


def field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    """A pydantic error location as a dotted field path (``events.3.quantity``)."""
    parts = [str(p) for p in loc if p not in ("body", "root")]
    return ".".join(parts) or "body"


def _error_body(status: int, error: str, fields: list[str], detail: Any = None) -> bytes:
    body: dict[str, Any] = {"error": error, "fields": fields}
    if detail is not None:
        body["detail"] = detail
    return json.dumps(body).encode()


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _rewrite_validation(body: bytes) -> bytes | None:
    """BentoML's 400 body for a schema failure, as our 422 body; ``None`` if not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("detail"), list):
        return None
    detail = data["detail"]
    fields = [field_name(d.get("loc", ())) for d in detail if isinstance(d, dict)]
    if any(d.get("type") == "json_invalid" for d in detail if isinstance(d, dict)):
        fields = ["body"]
    messages = "; ".join(
        f"{name}: {d.get('msg', 'invalid')}" for name, d in zip(fields, detail, strict=False)
    )
    return _error_body(422, f"invalid request: {messages}", fields, detail)


class GuardMiddleware:
    """ASGI middleware: body size, admin key, 422 for schema failures.

    Args:
        app: The wrapped ASGI app.
        max_body_bytes: Largest request body accepted.
        admin_key: Key ``/admin/*`` requires in ``X-API-Key`` (or ``Authorization:
            Bearer``); ``None`` refuses every admin call.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, admin_key: str | None) -> None:
        self.app, self.max_body_bytes, self.admin_key = app, max_body_bytes, admin_key

    def _authorised(self, scope: Scope) -> bool:
        if not self.admin_key:
            return False
        headers = dict(scope.get("headers") or [])
        given = headers.get(KEY_HEADER, b"").decode("latin-1")
        bearer = headers.get(b"authorization", b"").decode("latin-1")
        if not given and bearer.lower().startswith("bearer "):
            given = bearer[7:]
        return hmac.compare_digest(given.encode(), self.admin_key.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(ADMIN_PREFIX) and not self._authorised(scope):
            body = _error_body(401, "admin endpoints need the admin key (X-API-Key)", ["x-api-key"])
            await _answer(send, 401, body)
            return
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:  # read the body (bounded) before the app sees any of it
            message = await receive()
            if message["type"] != "http.request":
                return
            body = message.get("body", b"")
            seen += len(body)
            more = bool(message.get("more_body", False))
            if seen <= self.max_body_bytes:
                chunks.append(body)
            elif not more or seen > DRAIN_FACTOR * self.max_body_bytes:
                # too large: answer once the client has sent it (so it can read the
                # answer), or straight away when it keeps sending far beyond the limit
                await _answer(send, 413, self._too_large())
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        held: Message | None = None

        async def rewriting_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 400:
                held = message
                return
            if held is not None and message["type"] == "http.response.body":
                body = message.get("body", b"")
                rewritten = _rewrite_validation(body)
                start, held = held, None
                if rewritten is None:
                    await send(start)
                    await send(message)
                else:
                    await _answer(send, 422, rewritten)
                return
            await send(message)

        await self.app(scope, replay, rewriting_send)

    def _too_large(self) -> bytes:
        return _error_body(
            413, f"request body over {self.max_body_bytes} bytes (limits.max_body_bytes)", ["body"]
        )
