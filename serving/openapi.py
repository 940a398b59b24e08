"""The service's OpenAPI document and API page, honest about what the server answers.

BentoML's own document (``/docs.json``) says OpenAPI 3.0.2 but carries pydantic v2's
JSON Schema 2020-12 constructs, lists 200/400/404/500 only, misses ``GET /reports/{name}``
and its page (``/``) loads Google Tag Manager. :class:`OpenAPIMiddleware` answers
``GET /docs.json`` with :func:`build_document` (OpenAPI **3.1.0**, whose schema dialect
is the one pydantic emits) and ``GET /`` / ``GET /docs`` with a Swagger UI page built
from the assets BentoML ships (``/static_content``, no third-party host, no tracker),
before BentoML sees the request. Every endpoint lists every status the server can
answer with the error body ``{"error": str, "fields": [str], "detail"?: any}``.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from serving.pages.site import SESSION_COOKIE
from serving.pages.site import openapi_paths as pages_openapi_paths

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPENAPI_VERSION = "3.1.0"
TITLE = "Storefront ML"
DOC_PATH = "/docs.json"
PAGE_PATHS = frozenset({"/", "/docs"})
REF = "#/components/schemas/{model}"
ADMIN_PREFIXES = ("/admin/", "/experiments/report", "/reports/")
"""Paths that need the admin key (``X-API-Key``)."""
INGEST_PATHS = ("/events",)
"""Paths that need the ingest key (``X-Ingest-Key``)."""

EXAMPLES: dict[str, dict[str, Any]] = {
    "/recommend": {
        "user_id": "u-1001",
        "context": {
            "page_type": "product",
            "item_id": "i-42",
            "cart_items": ["i-7"],
            "exclude": ["i-9"],
        },
        "k": 10,
        "include": ["price", "stock"],
    },
    "/similar_items": {"item_id": "i-42", "k": 10},
    "/bought_together": {"cart_items": ["i-7", "i-42"], "k": 5},
    "/price": {"item_ids": ["i-7", "i-42"]},
    "/forecast": {"item_ids": ["i-7"], "horizon": 7, "quantiles": ["p10", "p50", "p90"]},
    "/user_profile": {"user_id": "u-1001"},
    "/events": {
        "events": [
            {
                "event_id": "e-0001",
                "user_id": "u-1001",
                "session_id": "s-77",
                "item_id": "i-42",
                "event_type": "add_to_cart",
                "timestamp": "2025-08-01T12:00:00Z",
                "quantity": 1,
                "unit_price": 19.99,
            }
        ]
    },
    "/experiments/report": {"name": "homepage-ranker"},
    "/admin/reload": {"load_challenger": True},
}
"""A request body per ``POST`` endpoint (also schemathesis's explicit examples)."""

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer of the service.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for a human."},
        "fields": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The offending fields (dotted paths such as ``events.3.quantity``, "
            "``body``, or a header name); empty when no field is at fault. BentoML's own "
            "answers (503 overloaded, 504 timeout) may leave it out.",
        },
        "detail": {"description": "Machine-readable detail (pydantic's errors for a 422)."},
    },
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (overload shedding).",
        "schema": {"type": "string"},
    }
}


ANSWER_HEADERS = {
    "x-bentoml-request-id": {
        "description": "The answer's ``request_id`` (the body's, yours or a new one); "
        "answers without one in their body carry BentoML's.",
        "required": True,
        "schema": {"type": "string"},
    },
    "server-timing": {
        "description": "``app;dur=<ms>``: the service's time on the request, from its "
        "arrival to its answer (waiting for a slot under load included).",
        "required": True,
        "schema": {"type": "string", "pattern": "^app;dur=[0-9.]+$"},
    },
}
"""Headers of every ``POST`` endpoint's 200 answer (:mod:`serving.headers`)."""


def project_version() -> str:
    """The installed package's version (``pyproject.toml`` when not installed)."""
    try:
        return metadata.version("storefront-ml")
    except metadata.PackageNotFoundError:
        text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
        found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        return found.group(1) if found else "0+unknown"


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _needs_admin(path: str) -> bool:
    return path.startswith(ADMIN_PREFIXES)


def _common_errors(path: str, *, body: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if _needs_admin(path):
        answers["401"] = _error("The admin key (``X-API-Key``) is missing or wrong.")
    elif path in INGEST_PATHS:
        answers["401"] = _error("The ingest key (``X-Ingest-Key``) is missing or wrong.")
    if body:
        answers["413"] = _error("The body is over ``limits.max_body_bytes``.")
        answers["415"] = _error("The body is not JSON (``Content-Type: application/json``).")
        answers["422"] = _error("The body is invalid; ``fields`` names every offending field.")
    return answers


def _server_errors(path: str) -> dict[str, Any]:
    unavailable = "Overloaded (retry after ``Retry-After`` seconds)"
    if path in INGEST_PATHS:
        unavailable += ", or the event store is unavailable (nothing was stored)"
    return {
        "500": _error("Internal error (a bug: the server log has it)."),
        "503": _error(unavailable + ".", RETRY_AFTER),
        "504": _error("Not answered within ``timeout_seconds`` (BentoML's timeout)."),
    }


def _model_of(spec: type) -> type[BaseModel]:
    """The user's pydantic model behind a BentoML IO descriptor (it subclasses it)."""
    for cls in spec.__mro__[1:]:
        if (
            issubclass(cls, BaseModel)
            and cls.__module__ != "_bentoml_sdk.io_models"
            and not cls.__module__.startswith("pydantic")
        ):
            return cls
    return spec


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    """``model``'s JSON schema, its definitions moved to ``components``."""
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    name = model.__name__
    if name in components and components[name] != schema:
        name = f"{name}{mode.capitalize()}"
    components[name] = schema
    return {"$ref": REF.format(model=name)}


def _summary(doc: str | None, fallback: str) -> tuple[str, str]:
    text = " ".join((doc or fallback).split())
    first = text.split(". ")[0].rstrip(".")
    return first[:120], text


def _security(path: str) -> list[dict[str, list[str]]] | None:
    if _needs_admin(path):
        return [{"adminKey": []}]
    if path in INGEST_PATHS:
        return [{"ingestKey": []}]
    return None


def _post_operation(api: Any, components: dict[str, Any]) -> dict[str, Any]:
    route = api.route
    request = _schema(_model_of(api.input_spec), components, "validation")
    response = _schema(_model_of(api.output_spec), components, "serialization")
    summary, description = _summary(api.func.__doc__, api.name)
    responses: dict[str, Any] = {
        "200": {
            "description": "The answer.",
            "headers": copy.deepcopy(ANSWER_HEADERS),
            "content": {"application/json": {"schema": response}},
        }
    }
    if route == "/experiments/report":
        responses["404"] = _error("No experiment of that name (or no experiment store).")
    responses |= _common_errors(route, body=True)
    responses |= _server_errors(route)
    example = EXAMPLES.get(route, {})
    operation: dict[str, Any] = {
        "operationId": api.name,
        "summary": summary,
        "description": description,
        "tags": ["Admin" if _needs_admin(route) else "Storefront"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request, "example": example}},
        },
        "responses": dict(sorted(responses.items())),
    }
    if (security := _security(route)) is not None:
        operation["security"] = security
    return {"post": operation}


def _get(
    summary: str,
    description: str,
    ok: dict[str, Any],
    extra: dict[str, Any] | None = None,
    tag: str = "Infrastructure",
) -> dict[str, Any]:
    responses = {"200": ok, **(extra or {})}
    return {
        "get": {
            "summary": summary,
            "description": description,
            "tags": [tag],
            "responses": dict(sorted(responses.items())),
        }
    }


def _text(description: str, media_type: str = "text/plain") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _get_paths() -> dict[str, Any]:
    report_errors = {
        "401": _error("The admin key (``X-API-Key``) is missing or wrong."),
        "404": {
            "description": "No experiment of that name, or no experiment store (a page); a "
            "name the route cannot take (a line break) gets BentoML's plain-text 404.",
            "content": {t: {"schema": {"type": "string"}} for t in ("text/html", "text/plain")},
        },
        "504": _error("Not answered within ``timeout_seconds`` (BentoML's timeout)."),
    }
    report = _get(
        "An experiment's report as a page",
        "The report of ``POST /experiments/report`` as HTML, for a browser.",
        _text("The report page.", "text/html"),
        report_errors,
        tag="Admin",
    )
    report["get"]["parameters"] = [
        {
            "name": "name",
            "in": "path",
            "required": True,
            "description": "The experiment (``storefront experiments list``).",
            "schema": {"type": "string", "minLength": 1},
            "example": "homepage-ranker",
        }
    ]
    report["get"]["security"] = [{"adminKey": []}]
    not_ready = {"503": _text("Not ready yet (models loading).")}
    return {
        "/reports/{name}": report,
        "/livez": _get("Liveness", "200 while the process is alive.", _text("Alive.")),
        "/readyz": _get(
            "Readiness", "200 once the service can answer.", _text("Ready."), not_ready
        ),
        "/metrics": _get("Prometheus metrics", "Request counts and latencies.", _text("Metrics.")),
        "/healthz": _get("Liveness (deprecated)", "Same as ``/livez``.", _text("Alive.")),
        "/schema.json": _get(
            "BentoML's service schema",
            "BentoML's own description of the service's methods.",
            {"description": "The schema.", "content": {"application/json": {"schema": {}}}},
        ),
        DOC_PATH: _get(
            "This document",
            "The OpenAPI document of the service.",
            {"description": "The document.", "content": {"application/json": {"schema": {}}}},
            tag="Documentation",
        ),
        **{
            path: _get(
                "API page",
                "This document as a page (Swagger UI from local assets).",
                _text("The page.", "text/html"),
                tag="Documentation",
            )
            for path in sorted(PAGE_PATHS)
        },
    }


def with_event_bounds(document: dict[str, Any], events: Any) -> dict[str, Any]:
    """``document`` with the configured bounds of an event (``events.*`` settings:
    :class:`serving.config.EventsConfig`) in its ``Event`` schema, so clients and
    generated bodies see the limits the service enforces (422 beyond them)."""
    event = document["components"]["schemas"].get("Event")
    if event is None:
        return document
    fields = event["properties"]
    fields["quantity"]["maximum"] = events.max_quantity
    price = next((s for s in fields["unit_price"].get("anyOf", [fields["unit_price"]])
                  if s.get("type") == "number"), fields["unit_price"])  # fmt: skip
    price["maximum"] = events.max_unit_price
    fields["timestamp"]["description"] += (
        f" Within the last {events.max_age_days:g} days and at most "
        f"{events.max_future_seconds:g} s ahead of the service's clock."
    )
    return document


def build_document(service: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``service`` (a ``@bentoml.service`` class)."""
    components: dict[str, Any] = {"Error": copy.deepcopy(ERROR_SCHEMA)}
    paths: dict[str, Any] = {}
    for api in sorted(service.apis.values(), key=lambda a: a.route):
        paths[api.route] = _post_operation(api, components)
    paths |= _get_paths()
    paths |= pages_openapi_paths()
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": project_version(),
            "summary": "Recommendations, prices, forecasts and event intake for one shop.",
            "description": (
                "Every endpoint lists every status it can answer. Errors share one body: "
                '`{"error": str, "fields": [str], "detail"?: any}`. Admin endpoints '
                "(`/admin/*`, `/experiments/report`, `/reports/*`) need the admin key in "
                "`X-API-Key`; `POST /events` needs the ingest key in `X-Ingest-Key`. "
                "Bodies over `limits.max_body_bytes` get 413, non-JSON bodies 415, invalid "
                "bodies 422 naming the field; 503 (with `Retry-After`) when overloaded, "
                "504 past `timeout_seconds`. Answers carry `server-timing`; a 200's "
                "`x-bentoml-request-id` is its body's `request_id`. Browser code on another "
                "origin may call the service only from the origins of `cors.allow_origins` "
                "(none by default)."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": "Storefront", "description": "Shop-facing endpoints."},
            {"name": "Admin", "description": "Need the admin key (X-API-Key)."},
            {"name": "Infrastructure", "description": "Health and metrics (BentoML)."},
            {"name": "Documentation", "description": "This document and its page."},
            {"name": "Pages", "description": "The shop's pages (admin login) and their calls."},
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "adminKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "ingestKey": {"type": "apiKey", "in": "header", "name": "X-Ingest-Key"},
                "adminSession": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
    }


def render_page(document: dict[str, Any]) -> str:
    """A Swagger UI page from BentoML's bundled assets (``/static_content``), no tracker,
    no third-party host; the endpoint list is plain HTML too, for no-script browsers."""
    title = html.escape(f"{document['info']['title']} {document['info']['version']}")
    rows = "".join(
        f"<li><code>{html.escape(method.upper())} {html.escape(path)}</code> — "
        f"{html.escape(op.get('summary', ''))} "
        f"({html.escape(', '.join(op.get('responses', {})))})</li>"
        for path, item in document["paths"].items()
        for method, op in item.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>{title}</title>
    <link rel="stylesheet" type="text/css" href="/static_content/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui">
      <noscript>
        <h1>{title}</h1>
        <p>The OpenAPI document: <a href="{DOC_PATH}">{DOC_PATH}</a></p>
        <ul>{rows}</ul>
      </noscript>
    </div>
    <script src="/static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script>
      window.onload = function () {{
        window.ui = SwaggerUIBundle({{
          url: "{DOC_PATH}",
          dom_id: "#swagger-ui",
          deepLinking: true,
          validatorUrl: null,
          presets: [SwaggerUIBundle.presets.apis],
        }});
      }};
    </script>
  </body>
</html>
"""


class OpenAPIMiddleware:
    """ASGI middleware: answers ``GET /docs.json`` and the API page (``/``, ``/docs``)
    before BentoML does.

    Args:
        app: The wrapped ASGI app.
        service: The ``@bentoml.service`` class whose document to serve.
        events: The ``events`` settings whose bounds the document states.
    """

    def __init__(self, app: ASGIApp, service: Any, events: Any = None) -> None:
        self.app, self.service, self.events = app, service, events
        self._document: bytes | None = None
        self._page: bytes | None = None

    def document(self) -> bytes:
        if self._document is None:
            built = build_document(self.service)
            if self.events is not None:
                built = with_event_bounds(built, self.events)
            self._document = json.dumps(built).encode()
            self._page = render_page(built).encode()
        return self._document

    def page(self) -> bytes:
        self.document()
        assert self._page is not None
        return self._page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if path == DOC_PATH:
            await self._answer(scope, send, self.document(), b"application/json")
        elif path in PAGE_PATHS:
            await self._answer(scope, send, self.page(), b"text/html; charset=utf-8")
        else:
            await self.app(scope, receive, send)

    @staticmethod
    async def _answer(scope: Scope, send: Send, body: bytes, media_type: bytes) -> None:
        headers = [
            (b"content-type", media_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
