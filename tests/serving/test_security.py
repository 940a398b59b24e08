"""Pseudonymised user ids, field names of request errors, and the guard middleware
(keys, JSON only, quiet logs of refused bodies) without a server."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest

from serving.security import (
    BENTOML_HTTP_LOGGER,
    GuardMiddleware,
    IngestPolicy,
    Pseudonymiser,
    _rewrite_validation,
    field_name,
    quiet_validation_logs,
)


def test_pseudonyms_are_keyed_and_stable() -> None:
    one, other = Pseudonymiser("k1"), Pseudonymiser("k2")
    assert one("u42") == one("u42") != other("u42")
    assert "u42" not in one("u42") and len(one("u42")) == 16
    assert one(None) is None
    assert Pseudonymiser(None)("u42") != Pseudonymiser(None)("u42"), "random key per process"


def test_field_names() -> None:
    assert field_name(("events", 3, "quantity")) == "events.3.quantity"
    assert field_name(()) == "body"


def test_bentoml_validation_answer_becomes_422_naming_fields() -> None:
    detail = [{"type": "less_than_equal", "loc": ["k"], "msg": "too big"}]
    body = json.dumps({"error": "1 validation error", "detail": detail}).encode()
    rewritten = _rewrite_validation(body)
    assert rewritten is not None and b'"fields": ["k"]' in rewritten
    assert _rewrite_validation(b"not json") is None
    assert _rewrite_validation(b'{"error": "other"}') is None


# --- the middleware, without a server -------------------------------------------------

ADMIN, INGEST = "admin-secret", "ingest-secret"


def _asgi(
    guard: GuardMiddleware, method: str, path: str, headers: dict[str, str], body: bytes = b"{}"
) -> tuple[int, dict[str, str], dict]:
    """One request through the middleware; the wrapped app answers 200 ``{"ok": true}``."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    got = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], got, json.loads(answer)


async def _ok_app(scope: dict, receive: object, send: object) -> None:
    await receive()  # type: ignore[operator]
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b'{"ok": true}'})  # type: ignore[operator]


def _guard(required: bool = True) -> GuardMiddleware:
    return GuardMiddleware(_ok_app, 10_000, ADMIN, IngestPolicy(INGEST, required))


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/jsonx",
    ],
)
def test_posts_that_are_not_json_answer_415(content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    status, _, answer = _asgi(_guard(), "POST", "/price", headers)
    assert status == 415 and answer["fields"] == ["content-type"], answer


def test_json_posts_and_gets_pass() -> None:
    assert _asgi(_guard(), "POST", "/price", JSON)[0] == 200
    charset = {"content-type": "Application/JSON; charset=utf-8"}
    assert _asgi(_guard(), "POST", "/price", charset)[0] == 200
    for page in ("/docs", "/docs.json", "/metrics", "/livez", "/readyz", "/"):
        assert _asgi(_guard(), "GET", page, {})[0] == 200, page


def test_events_need_the_ingest_key() -> None:
    status, _, answer = _asgi(_guard(), "POST", "/events", JSON)
    assert status == 401 and answer["fields"] == ["x-ingest-key"]
    assert _asgi(_guard(), "POST", "/events", {**JSON, "x-ingest-key": "wrong"})[0] == 401
    assert _asgi(_guard(), "POST", "/events", {**JSON, "x-ingest-key": INGEST})[0] == 200
    bearer = {**JSON, "authorization": f"Bearer {INGEST}"}
    assert _asgi(_guard(), "POST", "/events", bearer)[0] == 200
    assert _asgi(_guard(), "POST", "/events", {**JSON, "x-api-key": ADMIN})[0] == 401, (
        "the admin key is not the ingest key"
    )
    assert _asgi(_guard(required=False), "POST", "/events", JSON)[0] == 200, "opened"
    no_key = GuardMiddleware(_ok_app, 10_000, ADMIN, IngestPolicy(None, True))
    assert _asgi(no_key, "POST", "/events", {**JSON, "x-ingest-key": ""})[0] == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/admin/reload"), ("POST", "/experiments/report"), ("GET", "/reports/x")],
)
def test_admin_paths_need_the_admin_key(method: str, path: str) -> None:
    status, headers, answer = _asgi(_guard(), method, path, JSON)
    assert status == 401 and answer["fields"] == ["x-api-key"]
    assert _asgi(_guard(), method, path, {**JSON, "x-api-key": INGEST})[0] == 401
    assert _asgi(_guard(), method, path, {**JSON, "x-api-key": ADMIN})[0] == 200
    assert _asgi(_guard(), method, path, {**JSON, "authorization": f"Bearer {ADMIN}"})[0] == 200
    if method == "GET":  # a browser asks for the key
        assert headers["www-authenticate"].startswith("Basic")
        basic = base64.b64encode(f"me:{ADMIN}".encode()).decode()
        assert _asgi(_guard(), method, path, {"authorization": f"Basic {basic}"})[0] == 200
    nobody = GuardMiddleware(_ok_app, 10_000, None, IngestPolicy(INGEST))
    assert _asgi(nobody, method, path, {**JSON, "x-api-key": ""})[0] == 401, "no key: refused"
    assert _asgi(_guard(), "GET", "/reportsx", {})[0] == 200, "only the path and below"


def test_refused_body_is_logged_as_one_warning_with_field_names_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pydantic import ValidationError

    from serving.schemas import EventsRequest

    quiet_validation_logs()
    quiet_validation_logs()  # once per process
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    assert sum(type(f).__name__ == "_FieldsOnly" for f in logger.filters) == 1
    event = {"event_id": "e1", "user_id": "u000042", "session_id": "s", "item_id": "i1",
             "event_type": "purchase", "timestamp": "2026-01-01T00:00:00Z",
             "unit_price": "NaN"}  # fmt: skip
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        try:
            EventsRequest.model_validate({"events": [event]})
        except ValidationError:
            logger.error("Exception on %s [%s]", "/events", "POST", exc_info=True)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    text = caplog.text
    assert "events.0.unit_price" in text and "u000042" not in text and "Traceback" not in text
