"""Browser helpers of the page tests: a tab that records console errors and requests
to other hosts, and chart checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.serving.client import ADMIN_KEY


@dataclass
class Visit:
    """A browser tab on the service, with what its console and network reported."""

    tab: Any
    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    """Requests the page made to any other host (there must be none: no CDN)."""

    def open(self, path: str) -> Any:
        """Go to ``path``; returns the main document's response."""
        return self.tab.goto(self.base + path, wait_until="networkidle")


def visit(browser: Any, base: str, *, admin: bool = True) -> Visit:
    """A new browser context on ``base`` (logged in as the admin when ``admin``)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    if admin:
        answer = context.request.post(base + "/login", data={"key": ADMIN_KEY})
        assert answer.ok, answer.text()
    tab = context.new_page()
    seen = Visit(tab, base)
    tab.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: seen.errors.append(str(e)))
    tab.on(
        "request",
        lambda r: None if r.url.startswith(base) else seen.outside.append(r.url),
    )
    return seen


def rendered_charts(tab: Any) -> int:
    """How many Plotly charts on the page drew something (an SVG with marks)."""
    return int(
        tab.evaluate(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(
                 (el) => el.querySelector('svg.main-svg') &&
                         el.querySelectorAll('path, rect, circle').length > 0).length"""
        )
    )
