"""Security basics: admin and ingest keys, JSON bodies only, body size limit,
pseudonymised user ids, and request errors that name the field (never the values).

:class:`GuardMiddleware` wraps the BentoML app (ASGI), before BentoML sees a body:

- ``/admin/*``, ``/experiments/report`` and ``/reports/*`` need the admin key
  (``X-API-Key``, ``Authorization: Bearer`` or HTTP Basic's password): 401 naming
  ``x-api-key`` without it;
- ``POST /events`` needs the ingest key (``X-Ingest-Key`` or ``Authorization: Bearer``)
  unless ``events.require_ingest_key`` is off: 401 naming ``x-ingest-key``;
- a ``POST`` whose ``Content-Type`` is not ``application/json`` (none, text, forms,
  multipart) is refused with 415 naming ``content-type``;
- bodies over the size limit answer 413 before they are read whole;
- BentoML's 400 answer to a body that fails its schema becomes a 422 whose ``fields``
  name every offending field (``events.3.quantity``).

:func:`quiet_validation_logs` replaces BentoML's ERROR log of a refused body (a traceback
that quotes the input) by one WARNING line naming the fields only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ADMIN_PREFIX = "/admin"
ADMIN_PATHS = ("/admin", "/experiments/report", "/reports")
"""Paths (and what lies below them) that need the admin key."""
INGEST_PATHS = ("/events",)
"""Paths that need the ingest key (unless it is switched off)."""
JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods whose body must be JSON."""
DRAIN_FACTOR = 8
"""Bodies over the limit are read and dropped up to this many times the limit, so the
client gets its 413; beyond that the answer comes at once."""
KEY_HEADER = b"x-api-key"
INGEST_HEADER = b"x-ingest-key"
BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"
"""The logger of BentoML's ``log_exception`` (an ERROR with the traceback of a refused
body, whose pydantic error quotes the input)."""
log = logging.getLogger("storefront.serving")


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


async def _answer(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def given_key(headers: dict[bytes, bytes], header: bytes, basic: bool = False) -> str:
    """The key a request carries: ``header``, else ``Authorization: Bearer``, else (when
    ``basic``) HTTP Basic's password (a browser's login prompt)."""
    given = headers.get(header, b"").decode("latin-1")
    if given:
        return given
    auth = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if basic and scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def key_matches(given: str, key: str | None) -> bool:
    """Whether ``given`` is ``key`` (constant time); never with no key set."""
    if not key or not given:
        return False
    return hmac.compare_digest(given.encode(), key.encode())


def is_json(content_type: bytes | None) -> bool:
    """Whether a ``Content-Type`` header value is ``application/json`` (any parameters)."""
    if not content_type:
        return False
    media = content_type.decode("latin-1").split(";", 1)[0].strip().lower()
    return media == "application/json"


@dataclass(frozen=True)
class IngestPolicy:
    """Who may post events.

    Attributes:
        key: The ingest key; ``None`` refuses every call while ``required``.
        required: ``False`` opens ``/events`` (``events.require_ingest_key: false``).
    """

    key: str | None
    required: bool = True


class _FieldsOnly(logging.Filter):
    """Turns BentoML's ERROR record of a refused body into one WARNING line naming the
    fields (no traceback, no input values, no ids)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from pydantic import ValidationError

        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, ValidationError):
            return True
        fields = sorted({field_name(e.get("loc", ())) for e in exc.errors(include_input=False)})
        path = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = (
            "refused a request body on %s: invalid fields %s",
            (
                path,
                ", ".join(fields) or "body",
            ),
        )
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_validation_logs() -> None:
    """Install the filter on BentoML's HTTP logger (once per process)."""
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, _FieldsOnly) for f in logger.filters):
        logger.addFilter(_FieldsOnly())


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
    """ASGI middleware: keys, JSON only, body size, 422 for schema failures.

    Args:
        app: The wrapped ASGI app.
        max_body_bytes: Largest request body accepted.
        admin_key: Key the admin paths (:data:`ADMIN_PATHS`) require in ``X-API-Key``
            (or ``Authorization: Bearer``, or HTTP Basic's password); ``None`` refuses
            every such call.
        ingest: Who may post events (the service builds it from its settings:
            ``$STOREFRONT_INGEST_KEY``, ``ingest_key``, the shop's key file;
            ``events.require_ingest_key``).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        admin_key: str | None,
        ingest: IngestPolicy,
    ) -> None:
        self.app, self.max_body_bytes, self.admin_key = app, max_body_bytes, admin_key
        self.ingest = ingest
        quiet_validation_logs()

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        return key_matches(given_key(headers, KEY_HEADER, basic=True), self.admin_key)

    def _refusal(self, scope: Scope) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
        """The answer to a request refused before its body is read, else ``None``."""
        path, method = scope["path"], scope.get("method", "GET")
        headers = dict(scope.get("headers") or [])
        if _under(path, ADMIN_PATHS) and not self._authorised(scope):
            body = _error_body(401, "this endpoint needs the admin key (X-API-Key)", ["x-api-key"])
            extra = [(b"www-authenticate", b'Basic realm="storefront admin"')]
            return 401, body, extra if method == "GET" else []
        if (
            _under(path, INGEST_PATHS)
            and self.ingest.required
            and not key_matches(given_key(headers, INGEST_HEADER), self.ingest.key)
        ):
            body = _error_body(
                401, "posting events needs the ingest key (X-Ingest-Key)", ["x-ingest-key"]
            )
            return 401, body, []
        if method in JSON_METHODS and not is_json(headers.get(b"content-type")):
            body = _error_body(
                415, "request bodies must be JSON (application/json)", ["content-type"]
            )
            return 415, body, []
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._refusal(scope)
        if refused is not None:
            status, body, extra = refused
            await _answer(send, status, body, extra)
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
