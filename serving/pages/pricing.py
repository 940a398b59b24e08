"""The pricing desk: ``GET /pricing`` (admin login) and its JSON calls.

The latest proposal as a table that sorts and filters, each item's expected-profit curve
and forecast fan, override and reject, approve all or a selection (after a confirmation
showing the change against the prices in force), roll back, and the price ledger's
history. Every write goes through :mod:`jobs.pricing`, the code of ``storefront price``:
the guardrails apply, and a refusal answers 422 naming the field (and the rules broken).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from jobs import pricing
from serving.pages.pricing_detail import item_detail, plain
from serving.pages.pricing_openapi import paths
from serving.pages.pricing_view import PATH, history_rows, render
from serving.pages.site import ADMIN_USER, ShopContext, Site
from storefront.config import load_config
from training.pricing.config import PricingConfig
from training.pricing.ledger import read_ledger

Text = Field(min_length=1, max_length=500, pattern=r"\S")
ProposalId = Field(min_length=1, max_length=200, pattern=r"^[\w.-]+$")
Who = Field(default=ADMIN_USER, min_length=1, max_length=100, pattern=r"\S")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OverrideBody(_Body):
    """Set one item's price by hand."""

    item_id: str = Field(min_length=1, max_length=200)
    price: float = Field(gt=0, lt=1e9)
    why: str = Text
    by: str = Who


class RejectBody(_Body):
    """Reject a proposal."""

    proposal_id: str = ProposalId
    why: str = Text
    by: str = Who


class ApproveBody(_Body):
    """Approve a proposal: every item, or ``items`` only."""

    proposal_id: str = ProposalId
    items: list[str] | None = Field(default=None, min_length=1, max_length=100_000)
    by: str = Who


class DiffBody(_Body):
    """What approving would change."""

    proposal_id: str = ProposalId
    items: list[str] | None = Field(default=None, min_length=1, max_length=100_000)


class RollbackBody(_Body):
    """Restore the prices right after a proposal's publication."""

    to: str = ProposalId
    why: str = Text
    by: str = Who


def _error(status: int, message: str, fields: list[str], **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "fields": fields, **extra}, status_code=status)


def _field(message: str, default: str) -> str:
    """The field a domain error names (``"items: ..."``), else ``default``."""
    head, sep, _ = message.partition(":")
    known = {"items", "item", "item_id", "proposal", "proposal_id", "to", "why", "by", "price"}
    name = head.strip() if sep and head.strip() in known else default
    return {"proposal": "proposal_id", "item": "item_id"}.get(name, name)


async def _body(request: Request, model: type[_Body]) -> _Body | JSONResponse:
    try:
        raw = await request.json()
    except ValueError:
        return _error(422, "the body is not JSON", ["body"])
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
        first = exc.errors()[0]
        return _error(422, f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}", fields)


def _written(result: Any) -> JSONResponse:
    rows = [plain(r) for r in result.entries.iter_rows(named=True)]
    return JSONResponse({"kind": result.kind, "note": result.note, "entries": rows})


def _currency(ctx: ShopContext) -> str:
    from kpi.report import DEFAULT_WIN_BACK, KpiSettings

    features = getattr(ctx.settings, "features_config", None)
    try:
        return str(KpiSettings.load(features, None, DEFAULT_WIN_BACK).currency or "")
    except Exception:  # a page without a currency still shows its amounts
        return ""


Action = Callable[[ShopContext, Any], Any]


def _action(site: Site, model: type[_Body], run: Action, default_field: str) -> Any:
    """A POST handler: validate ``model``, run the job, answer what it wrote or why not."""

    async def handler(request: Request) -> Response:
        body = await _body(request, model)
        if isinstance(body, JSONResponse):
            return body
        try:
            ctx = site.context()
            return await run_in_threadpool(run, ctx, body)
        except LookupError as exc:
            return _error(503, str(exc), [])
        except pricing.GuardrailError as exc:
            item = getattr(body, "item_id", None)
            return _error(422, str(exc), ["price"], detail={"rules": exc.rules, "item_id": item})
        except FileNotFoundError as exc:
            return _error(404, str(exc), [_field(str(exc), default_field)])
        except ValueError as exc:
            return _error(422, str(exc), [_field(str(exc), default_field)])

    return site.admin(handler)


def _override(ctx: ShopContext, body: OverrideBody) -> Response:
    done = pricing.set_price(body.item_id, body.price, body.why, ctx.data_dir, body.by)
    return _written(done)


def _reject(ctx: ShopContext, body: RejectBody) -> Response:
    return _written(pricing.reject(body.proposal_id, body.why, ctx.data_dir, body.by))


def _approve(ctx: ShopContext, body: ApproveBody) -> Response:
    if body.items is None:
        return _written(pricing.approve(body.proposal_id, ctx.data_dir, body.by))
    return _written(pricing.approve_items(body.proposal_id, body.items, ctx.data_dir, body.by))


def _diff(ctx: ShopContext, body: DiffBody) -> Response:
    rows = pricing.approval_diff(body.proposal_id, ctx.data_dir, body.items)
    return JSONResponse({"proposal_id": body.proposal_id,
                         "items": [plain(r) for r in rows.iter_rows(named=True)]})  # fmt: skip


def _rollback(ctx: ShopContext, body: RollbackBody) -> Response:
    return _written(pricing.rollback(body.why, ctx.data_dir, to=body.to, by=body.by))


def _desk(ctx: ShopContext) -> str:
    return render(pricing.latest_proposal(ctx.data_dir), read_ledger(ctx.data_dir), _currency(ctx))


def _item(ctx: ShopContext, item_id: str) -> Response:
    proposal = pricing.latest_proposal(ctx.data_dir)
    if proposal is None:
        return _error(404, "no proposal yet; run `storefront price propose`", ["item_id"])
    cfg = load_config(PricingConfig, None, name="pricing")
    try:
        detail = item_detail(ctx.data_dir, proposal, item_id, read_ledger(ctx.data_dir), cfg)
    except KeyError:
        return _error(404, f"item_id: {item_id!r} is not in proposal {proposal.proposal_id}",
                      ["item_id"])  # fmt: skip
    return JSONResponse(detail)


def _history(ctx: ShopContext, item_id: str | None) -> Response:
    entries = pricing.history(ctx.data_dir, item_id)
    return JSONResponse({"entries": [plain(r) for r in history_rows(entries)]})


def routes(site: Site) -> list[BaseRoute]:
    """The desk and its JSON calls, all behind the admin login."""

    async def desk(request: Request) -> Response:
        try:
            return HTMLResponse(await run_in_threadpool(_desk, site.context()))
        except LookupError as exc:
            return _error(503, str(exc), [])

    async def item(request: Request) -> Response:
        try:
            return await run_in_threadpool(_item, site.context(), request.path_params["item_id"])
        except LookupError as exc:
            return _error(503, str(exc), [])

    async def history(request: Request) -> Response:
        try:
            found = request.query_params.get("item") or None
            return await run_in_threadpool(_history, site.context(), found)
        except LookupError as exc:
            return _error(503, str(exc), [])

    posts = {
        "override": (OverrideBody, _override, "item_id"),
        "reject": (RejectBody, _reject, "proposal_id"),
        "approve": (ApproveBody, _approve, "proposal_id"),
        "diff": (DiffBody, _diff, "proposal_id"),
        "rollback": (RollbackBody, _rollback, "to"),
    }
    found: list[BaseRoute] = [
        Route(PATH, site.admin(desk), methods=["GET"]),
        Route(f"{PATH}/items/{{item_id}}", site.admin(item), methods=["GET"]),
        Route(f"{PATH}/history", site.admin(history), methods=["GET"]),
    ]
    for name, (model, run, field) in posts.items():
        found.append(Route(f"{PATH}/{name}", _action(site, model, run, field), methods=["POST"]))
    return found


def openapi_paths() -> dict[str, Any]:
    """The desk's OpenAPI paths."""
    models = {"override": OverrideBody, "reject": RejectBody, "approve": ApproveBody,
              "diff": DiffBody, "rollback": RollbackBody}  # fmt: skip
    return paths(PATH, {k: m.model_json_schema() for k, m in models.items()})
