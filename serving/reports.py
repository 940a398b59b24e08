"""Experiment reports served by the service: ``GET /reports/<name>`` (HTML, for a
browser) next to the ``POST /experiments/report`` API (JSON, in the OpenAPI document).
Both analyse the experiment store on request (a second or two on a large test)."""

from __future__ import annotations

import html
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from experiments.config import ExperimentsSettings
from experiments.store import ExperimentStore


class ReportPages:
    """Builds reports from the experiment store the service logs to (set at start)."""

    def __init__(self) -> None:
        self.store: ExperimentStore | None = None
        self.settings = ExperimentsSettings()
        self.app = Starlette(routes=[Route("/{name}", self._page, methods=["GET"])])

    def report(self, name: str) -> dict[str, Any]:
        """The analysed report of ``name``.

        Raises:
            LookupError: No experiment store, or no experiment of that name.
        """
        from experiments.report import build_report

        if self.store is None:
            raise LookupError("no experiment store is configured")
        try:
            return build_report(self.store, name, self.settings)
        except ValueError as exc:
            raise LookupError(str(exc)) from exc

    async def _page(self, request: Request) -> HTMLResponse:
        from experiments.report_html import render

        name = request.path_params["name"]
        try:
            report = await run_in_threadpool(self.report, name)
        except LookupError as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=404)
        return HTMLResponse(render(report))


PAGES = ReportPages()
