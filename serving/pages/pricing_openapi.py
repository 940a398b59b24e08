"""The pricing desk's OpenAPI paths: the page, the item detail, the history and the
actions, each with every status it answers and an example body."""

from __future__ import annotations

import copy
from typing import Any

from serving.pages.site import ERROR_CONTENT, html_page

SECURITY = [{"adminKey": []}, {"adminSession": []}]
EXAMPLES = {
    "override": {"item_id": "sku-example", "price": 19.99, "why": "match a competitor",
                 "by": "pricing-lead"},
    "reject": {"proposal_id": "2025-08-01-093000", "why": "forecasts look stale"},
    "approve": {"proposal_id": "2025-08-01-093000", "items": ["sku-example"]},
    "diff": {"proposal_id": "2025-08-01-093000"},
    "rollback": {"to": "2025-08-01-093000", "why": "the new prices hurt conversion"},
}  # fmt: skip
"""Example bodies (of no proposal or item a shop has: a fuzzer sending them writes nothing)."""
ACTIONS = {
    "override": ("Set one item's price by hand",
                 "An `override` ledger entry from now, within the guardrails (as `storefront "
                 "price set`); a guardrail refusal is a 422 naming `price`, with the rules "
                 "broken in `detail.rules`."),
    "reject": ("Reject a proposal",
               "A `reject` ledger entry (as `storefront price reject`); it can no longer be "
               "approved."),
    "approve": ("Approve a proposal, or some of its items",
                "`publish` ledger entries for every item (as `storefront price approve`) or "
                "for `items` only."),
    "diff": ("What an approval would change",
             "The proposal's prices (or those of `items`) beside the prices in force now; "
             "writes nothing."),
    "rollback": ("Roll prices back to a proposal",
                 "`rollback` entries restoring the prices right after proposal `to` took "
                 "effect, for every item touched since (as `storefront price rollback --to`)."),
}  # fmt: skip
WRITTEN = {
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "note": {"type": "string"},
        "entries": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["kind", "note", "entries"],
}
DIFF = {
    "type": "object",
    "properties": {
        "proposal_id": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["proposal_id", "items"],
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": ERROR_CONTENT}}


def _errors(not_found: str) -> dict[str, Any]:
    return {
        "401": _err("Not logged in (no admin cookie or key)."),
        "404": _err(not_found),
        "503": _err("The service has not started yet."),
    }


def _post(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    summary, description = ACTIONS[name]
    body = copy.deepcopy(schema)
    body.pop("title", None)
    return {
        "post": {
            "summary": summary,
            "description": description + " Needs the admin login (cookie) or key.",
            "tags": ["Pages"],
            "security": SECURITY,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body, "example": EXAMPLES[name]}},
            },
            "responses": {
                "200": {
                    "description": "Done.",
                    "content": _json(DIFF if name == "diff" else WRITTEN),
                },
                **_errors("No such proposal."),
                "413": _err("The body is over ``limits.max_body_bytes``."),
                "415": _err("The body is not JSON (``Content-Type: application/json``)."),
                "422": _err(
                    "An invalid body or a refusal (a guardrail, a rejected or already "
                    "published proposal, an unknown item); `fields` names the field."
                ),
            },
        }
    }


def _get(summary: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "description": description + " Needs the admin login (cookie) or key.",
            "tags": ["Pages"],
            "security": SECURITY,
            **extra,
            "responses": {
                "200": {"description": "The answer.", "content": _json(schema)},
                **_errors("No proposal, or the item is not in it."),
            },
        }
    }


def paths(path: str, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The desk's paths under ``path``, the actions' bodies from ``schemas``."""
    desk = html_page(
        "The pricing desk",
        "The latest price proposal (sortable, filterable), each item's expected-profit "
        "curve and forecast fan, approve / reject / override / roll back, and the price "
        "ledger's history.",
    )
    desk["get"]["responses"]["503"] = _err("The service has not started yet.")
    item = _get(
        "One item of the latest proposal",
        "The proposal's row, the expected-profit curve over the candidate prices (with the "
        "guardrails each breaks), the forecast fan (P10, P50, P90) and the ledger entries.",
        {"type": "object"},
        parameters=[{"name": "item_id", "in": "path", "required": True,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                     "example": "sku-example"}],
    )  # fmt: skip
    history = _get(
        "The price ledger",
        "The latest entries, newest first: who, when, what and why.",
        {"type": "object", "properties": {"entries": {"type": "array"}}},
        parameters=[{"name": "item", "in": "query", "required": False,
                     "schema": {"type": "string"}, "description": "Only this item."}],
    )  # fmt: skip
    history["get"]["responses"].pop("404")
    missing = item["get"]["responses"]["404"]["content"]
    missing["text/plain"] = {"schema": {"type": "string"}}  # no item id: no such route
    found = {path: desk, f"{path}/items/{{item_id}}": item, f"{path}/history": history}
    return found | {f"{path}/{name}": _post(name, schema) for name, schema in schemas.items()}
