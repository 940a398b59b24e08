"""The OpenAPI document the real server serves (``/docs.json``) and its API page."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request
from importlib import metadata
from typing import Any

import pytest
from openapi_spec_validator import validate

from serving.reports import PAGES
from tests.serving.client import ADMIN_KEY, Server, call, get

pytestmark = pytest.mark.slow

BODY_ERRORS = ("413", "415", "422")
ADMIN = ("/admin/", "/experiments/report", "/reports/")


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    status, text = get(server.base, "/docs.json")
    assert status == 200, text
    return json.loads(text)


def _is_page(op: dict[str, Any]) -> bool:
    return "Pages" in op.get("tags", [])


def _posts(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The service's API endpoints (the pages' own calls are checked apart)."""
    paths = document["paths"].items()
    return {p: item["post"] for p, item in paths if "post" in item and not _is_page(item["post"])}


def _page_posts(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    paths = document["paths"].items()
    return {p: item["post"] for p, item in paths if "post" in item and _is_page(item["post"])}


def test_document_validates_as_one_openapi_version(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)  # openapi-spec-validator picks the 3.1 validator from the version
    text = json.dumps(document)
    assert "googletagmanager" not in text and "BentoML Prediction Service" not in text


def test_title_and_version(document: dict[str, Any]) -> None:
    info = document["info"]
    assert info["title"] == "Storefront ML"
    assert info["version"] == metadata.version("storefront-ml") != "None"
    assert info["description"]


def test_every_route_is_documented(server: Server, document: dict[str, Any]) -> None:
    from serving.service import Storefront

    paths = document["paths"]
    for api in Storefront.apis.values():
        assert "post" in paths.get(api.route, {}), api.route
    mounted = [f"/reports{r.path}" for r in PAGES.app.routes]  # type: ignore[attr-defined]
    assert mounted == ["/reports/{name}"]
    for path in [*mounted, "/livez", "/readyz", "/metrics", "/docs.json", "/", "/docs"]:
        assert "get" in paths.get(path, {}), path
    for path, item in paths.items():  # and every documented route is one the server answers
        concrete = path.replace("{name}", "no-such-experiment")
        if "get" in item and "{" not in path:
            headers = {"X-API-Key": ADMIN_KEY} if item["get"].get("security") else None
            assert get(server.base, concrete, headers)[0] == 200, path
            if _is_page(item["get"]) and item["get"].get("security"):
                assert get(server.base, concrete)[0] == 401, path  # the login, not the page
        if "post" in item and "get" not in item:
            refused = {405, 401} if path.startswith(ADMIN) or path == "/events" else {405}
            assert get(server.base, concrete)[0] in refused, path  # there, POST only


def test_every_endpoint_documents_its_errors(document: dict[str, Any]) -> None:
    for path, op in _posts(document).items():
        responses = op["responses"]
        assert "200" in responses, path
        for status in (*BODY_ERRORS, "503", "504"):
            assert status in responses, (path, status)
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
        needs_key = path.startswith(ADMIN) or path == "/events"
        assert ("401" in responses) == needs_key, path
        assert ("security" in op) == needs_key, path
    assert "Retry-After" in _posts(document)["/recommend"]["responses"]["503"]["headers"]
    report = document["paths"]["/reports/{name}"]["get"]
    assert {"200", "401", "404"} <= set(report["responses"])
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "fields", "detail"}


def test_every_page_call_documents_its_errors_and_an_example(document: dict[str, Any]) -> None:
    page_posts = _page_posts(document)
    assert {"/login", "/logout"} <= set(page_posts)
    for path, op in page_posts.items():
        responses = op["responses"]
        assert op["summary"] and op["description"], path
        assert "example" in op["requestBody"]["content"]["application/json"], path
        for status in ("200", "413", "415"):
            assert status in responses, (path, status)
        for status, response in responses.items():
            if status != "200" and "application/json" in response.get("content", {}):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
        assert ("401" in responses) == bool(op.get("security")) or path == "/login", path


def test_every_endpoint_has_a_summary_and_an_example(document: dict[str, Any]) -> None:
    from serving.openapi import _model_of
    from serving.service import Storefront

    models = {a.route: _model_of(a.input_spec) for a in Storefront.apis.values()}
    for path, op in _posts(document).items():
        assert op["summary"] and op["description"], path
        example = op["requestBody"]["content"]["application/json"]["example"]
        models[path].model_validate(example)  # the example is a valid body
    for path, item in document["paths"].items():
        for op in item.values():
            assert op.get("summary"), path
    parameter = document["paths"]["/reports/{name}"]["get"]["parameters"][0]
    assert parameter["name"] == "name" and parameter["example"]


def test_answers_are_the_documented_ones(server: Server, document: dict[str, Any]) -> None:
    """A real 413, 422 and 401 of the server are documented, in the error body shape."""
    posts = _posts(document)
    limit = 1_000_000  # limits.max_body_bytes (the default)
    for path in posts:
        headers = {"X-API-Key": ADMIN_KEY} if path.startswith(ADMIN) else {}
        answers = {
            "413": call(server.base, path, b"x" * (limit + 1), headers),
            "422": call(server.base, path, {"no_such_field": 1}, headers),
        }
        for status, (code, body) in answers.items():
            # /events answers 401 first when the test server requires an ingest key
            expected = {status, "401"} if path == "/events" else {status}
            assert str(code) in expected, (path, code, body)
            assert str(code) in posts[path]["responses"], (path, code, body)
            assert isinstance(body["error"], str) and isinstance(body["fields"], list), body
    code, body = call(server.base, "/admin/reload", {})
    assert code == 401 and "401" in posts["/admin/reload"]["responses"], body


def test_api_page_has_no_third_party_script(server: Server) -> None:
    for path in ("/", "/docs"):
        request = urllib.request.Request(server.base + path)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/html")
            page = response.read().decode()
        assert "Storefront ML" in page and "BentoML Prediction Service" not in page
        assert "googletagmanager" not in page.lower()
        sources = re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", page, flags=re.IGNORECASE)
        assert sources, "the page loads Swagger UI"
        for source in sources:
            assert not re.match(r"^(https?:)?//", source), source  # same host only
            assert get(server.base, source)[0] == 200, source
        assert "/docs.json" in page


def _schema(document: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """The component a ``$ref`` (possibly inside ``anyOf`` with null) points to."""
    target = ref.get("$ref") or next(r["$ref"] for r in ref["anyOf"] if "$ref" in r)
    return document["components"]["schemas"][target.rsplit("/", 1)[1]]


def test_the_answer_fields_and_headers_are_documented(document: dict[str, Any]) -> None:
    """What a storefront relies on (issue 14) is in the document, with a description."""
    posts = _posts(document)
    for path, op in posts.items():
        headers = op["responses"]["200"]["headers"]
        assert {"x-bentoml-request-id", "server-timing"} <= set(headers), path
        assert all(h["required"] and h["description"] for h in headers.values()), path
    recommend = posts["/recommend"]
    request = _schema(document, recommend["requestBody"]["content"]["application/json"]["schema"])
    context = _schema(document, request["properties"]["context"])
    assert request["properties"]["include"]["items"]["enum"] == ["price", "stock"]
    assert context["properties"]["exclude"]["description"]
    answer = _schema(
        document, recommend["responses"]["200"]["content"]["application/json"]["schema"]
    )
    for name in ("short_reason", "unknown", "items"):
        assert answer["properties"][name]["description"], name
    assert set(answer["properties"]["short_reason"]["anyOf"][0]["enum"]) == {
        "not_enough_candidates", "unknown_category",
    }  # fmt: skip
    item = _schema(document, answer["properties"]["items"]["items"])
    for name in ("score", "price", "in_stock"):
        assert item["properties"][name]["description"], name
    assert "rank" in item["properties"]["score"]["description"]
    for path in ("/similar_items", "/bought_together", "/price", "/forecast"):
        schema = posts[path]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "unknown" in _schema(document, schema)["properties"], path


def test_the_event_schema_states_the_configured_bounds(
    server: Server, document: dict[str, Any]
) -> None:
    from serving.config import load_serving_config

    fields = document["components"]["schemas"]["Event"]["properties"]
    defaults = load_serving_config().events  # what the test server runs on
    assert fields["quantity"]["maximum"] == defaults.max_quantity
    assert fields["unit_price"]["maximum"] == defaults.max_unit_price
    assert f"{defaults.max_age_days:g} days" in fields["timestamp"]["description"]
    row = {"event_id": "e-bound", "user_id": "u1", "session_id": "s1", "item_id": "i00001",
           "event_type": "view", "timestamp": dt.datetime.now(dt.UTC).isoformat(),
           "unit_price": 1.0, "quantity": defaults.max_quantity + 1}  # fmt: skip
    status, answer = call(server.base, "/events", {"events": [row]})
    assert status == 422 and answer["fields"] == ["events.0.quantity"], answer
