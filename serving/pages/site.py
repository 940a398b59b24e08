"""The pages' web app: page discovery, the admin login and the ASGI middleware that
answers the pages' paths before BentoML does."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.pages import assets, layout
from serving.pages.assets import ASSET_PATTERN
from serving.security import KEY_HEADER, given_key, key_matches
from storefront.clock import Clock, SystemClock

PAGE_PREFIXES = ("/dashboard", "/pricing", "/audit", "/assets", "/login", "/logout")
"""Paths the pages answer; everything else goes on to the API."""
SESSION_COOKIE = "storefront_session"
ADMIN_USER = "admin"
"""Who the ledger records for an action taken from a page with the admin key."""


@dataclass
class ShopContext:
    """What a page reads, bound by the service when it starts.

    Attributes:
        data_dir: The shop folder.
        clock: The service's business time.
        events_url: The service's event store (SQLAlchemy URL).
        experiment_store: The experiment store the service logs to (``None``: none).
        settings: The service's settings (:class:`serving.config.ServingConfig`).
    """

    data_dir: Path
    clock: Clock = field(default_factory=SystemClock)
    events_url: str | None = None
    experiment_store: Any = None
    settings: Any = None


Handler = Callable[[Request], Awaitable[Response]]


class Site:
    """The pages of one service: built once, bound to the shop when the service starts.

    Args:
        admin_key: The key a browser logs in with (``None``: every page refuses).
    """

    def __init__(self, admin_key: str | None = None) -> None:
        self.admin_key = admin_key
        self.shop: ShopContext | None = None
        self._app: Starlette | None = None

    def bind(self, shop: ShopContext, admin_key: str | None) -> None:
        """Point the pages at the shop the service serves."""
        self.shop, self.admin_key = shop, admin_key

    def context(self) -> ShopContext:
        """The bound shop.

        Raises:
            LookupError: The service has not bound one (not started yet).
        """
        if self.shop is None:
            raise LookupError("the service has not started yet")
        return self.shop

    # -- the login -------------------------------------------------------------------
    def session_token(self) -> str:
        """The login cookie's value: derived from the admin key, never the key itself."""
        assert self.admin_key
        return hmac.new(self.admin_key.encode(), b"storefront pages", hashlib.sha256).hexdigest()

    def is_admin(self, request: Request) -> bool:
        """Whether a request carries the admin key (header, Bearer, Basic) or the login
        cookie."""
        if not self.admin_key:
            return False
        headers = {k.lower().encode(): v.encode("latin-1") for k, v in request.headers.items()}
        if key_matches(given_key(headers, KEY_HEADER, basic=True), self.admin_key):
            return True
        return key_matches(request.cookies.get(SESSION_COOKIE, ""), self.session_token())

    def admin(self, handler: Handler) -> Handler:
        """``handler`` for admins only: others get the login page (or JSON) with 401."""

        async def guarded(request: Request) -> Response:
            if self.is_admin(request):
                return await handler(request)
            if request.method == "GET" and "json" not in request.headers.get("accept", ""):
                return HTMLResponse(layout.login_page(request.url.path), status_code=401)
            return JSONResponse(
                {"error": "this page needs the admin login", "fields": ["x-api-key"]},
                status_code=401,
            )

        return guarded

    async def _login_page(self, request: Request) -> Response:
        return HTMLResponse(layout.login_page(request.query_params.get("next", "/dashboard")))

    async def _login(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key_matches(key, self.admin_key):
            return JSONResponse({"error": "wrong admin key", "fields": ["key"]}, status_code=401)
        answer = JSONResponse({"ok": True})
        answer.set_cookie(
            SESSION_COOKIE, self.session_token(), httponly=True, samesite="strict", path="/"
        )
        return answer

    async def _logout(self, request: Request) -> Response:
        answer = JSONResponse({"ok": True})
        answer.delete_cookie(SESSION_COOKIE, path="/")
        return answer

    # -- the app ---------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The login, the assets and every page module's routes."""
        found: list[BaseRoute] = [
            Route("/login", self._login_page, methods=["GET"]),
            Route("/login", self._login, methods=["POST"]),
            Route("/logout", self._logout, methods=["POST"]),
            *assets.asset_routes(),
        ]
        for module in page_modules():
            found += module.routes(self)
        return found

    def app(self) -> Starlette:
        if self._app is None:
            self._app = Starlette(routes=self.routes())
        return self._app


def page_modules() -> list[Any]:
    """The modules of this package that define pages (a ``routes`` function)."""
    import serving.pages as package

    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"serving.pages.{info.name}")
        if callable(getattr(module, "routes", None)) and module.__name__ != __name__:
            modules.append(module)
    return modules


def html_page(summary: str, description: str) -> dict[str, Any]:
    """The OpenAPI operation of an admin page (``GET``, HTML; 401 shows the login)."""
    html = {"schema": {"type": "string"}}
    return {
        "get": {
            "summary": summary,
            "description": description + " Needs the admin login (cookie) or key.",
            "tags": ["Pages"],
            "security": [{"adminKey": []}, {"adminSession": []}],
            "responses": {
                "200": {"description": "The page.", "content": {"text/html": html}},
                "401": {
                    "description": "Not logged in: the login page.",
                    "content": {"text/html": html, "application/json": ERROR_CONTENT},
                },
            },
        }
    }


ERROR_CONTENT = {"schema": {"$ref": "#/components/schemas/Error"}}
"""A response body in the service's error shape."""


def report_responses(operation: dict[str, Any], report: str, bad: str, unavailable: str) -> None:
    """Add a report page's other answers to its ``GET`` operation: the report as JSON
    (``Accept: application/json``), 400 for a bad filter and 503 without the feeds.

    Args:
        operation: The ``get`` operation of :func:`html_page`.
        report: What the JSON answer is.
        bad: When 400 is answered.
        unavailable: When 503 is answered.
    """
    html = {"schema": {"type": "string"}}
    responses = operation["responses"]
    responses["200"]["content"]["application/json"] = {
        "schema": {"type": "object", "description": report}
    }
    for status, description in (("400", bad), ("503", unavailable)):
        responses[status] = {
            "description": description,
            "content": {"text/html": html, "application/json": ERROR_CONTENT},
        }


def _site_paths() -> dict[str, Any]:
    ok = {
        "description": "Logged in (or out).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}},
                    "required": ["ok"],
                }
            }
        },
    }
    refused = {"description": "Wrong admin key.", "content": {"application/json": ERROR_CONTENT}}
    not_json = {"description": "Not a JSON body.", "content": {"application/json": ERROR_CONTENT}}
    too_large = {
        "description": "Body over ``limits.max_body_bytes``.",
        "content": {"application/json": ERROR_CONTENT},
    }
    text = {"schema": {"type": "string"}}
    return {
        "/login": {
            "get": {
                "summary": "The admin login page",
                "description": "A form that exchanges the admin key for a session cookie.",
                "tags": ["Pages"],
                "parameters": [
                    {
                        "name": "next",
                        "in": "query",
                        "required": False,
                        "description": "Where to go once logged in.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "The page.", "content": {"text/html": text}}},
            },
            "post": {
                "summary": "Log in",
                "description": "Sets the session cookie (HttpOnly, SameSite=Strict) when "
                "``key`` is the admin key.",
                "tags": ["Pages"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"key": {"type": "string"}},
                                "required": ["key"],
                            },
                            "example": {"key": "<the admin key>"},
                        }
                    },
                },
                "responses": {"200": ok, "401": refused, "413": too_large, "415": not_json},
            },
        },
        "/logout": {
            "post": {
                "summary": "Log out",
                "description": "Clears the session cookie.",
                "tags": ["Pages"],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object"}, "example": {}}},
                },
                "responses": {"200": ok, "413": too_large, "415": not_json},
            }
        },
        "/assets/{name}": {
            "get": {
                "summary": "A bundled asset of the pages",
                "description": "Plotly.js, the stylesheet and the pages' scripts (no CDN).",
                "tags": ["Pages"],
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "The asset's file name.",
                        "schema": {"type": "string", "pattern": ASSET_PATTERN, "maxLength": 101},
                        "example": "app.css",
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The asset.",
                        "content": {"text/javascript": text, "text/css": text},
                    },
                    "404": {"description": "No such asset.", "content": {"text/plain": text}},
                },
            }
        },
    }


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI paths of the pages: the login, the assets and each page module's
    (its ``openapi_paths``)."""
    paths: dict[str, Any] = _site_paths()
    for module in page_modules():
        if callable(getattr(module, "openapi_paths", None)):
            paths |= module.openapi_paths()
    return paths


SITE = Site()
"""The pages of this process's service (bound in ``Storefront.__init__``)."""


def _under(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


class PagesMiddleware:
    """ASGI middleware: answers the pages' paths (:data:`PAGE_PREFIXES`) from
    :data:`SITE`'s app; everything else goes on to the API.

    Args:
        app: The wrapped ASGI app.
        site: The pages (default :data:`SITE`).
    """

    def __init__(self, app: ASGIApp, site: Site | None = None) -> None:
        self.app, self.site = app, site or SITE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _under(scope.get("path", "")):
            await self.site.app()(scope, receive, send)
        else:
            await self.app(scope, receive, send)
