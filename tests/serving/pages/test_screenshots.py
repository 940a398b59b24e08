"""Screenshots of every page (marker ``screenshots``; in CI too, written to a temporary
folder). The README's pictures come from
``STOREFRONT_SCREENSHOTS=docs/screenshots .venv/bin/pytest -m screenshots``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.serving.client import Server
from tests.serving.pages.browser import rendered_charts, visit

pytestmark = [pytest.mark.browser, pytest.mark.screenshots, pytest.mark.slow]

PAGES = {"dashboard": "/dashboard", "pricing": "/pricing", "audit": "/audit"}
"""The pricing desk's README picture is taken by its own test (a shop with a proposal,
an item's detail open); here it is checked on a shop with none."""


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_is_pictured_as_a_user_sees_it(
    server: Server, browser: object, name: str, tmp_path: Path
) -> None:
    kept = os.environ.get("STOREFRONT_SCREENSHOTS")
    folder = Path(kept) if kept and name != "pricing" else tmp_path
    tab = visit(browser, server.base)
    answer = tab.open(PAGES[name])
    assert answer.status == 200, answer.status
    picture = folder / f"{name}.png"
    folder.mkdir(parents=True, exist_ok=True)
    tab.tab.screenshot(path=str(picture), full_page=True)
    assert picture.stat().st_size > 20_000  # a drawn page, not a blank one
    assert rendered_charts(tab.tab) >= 1 or name == "pricing", name
    assert not tab.errors and not tab.outside, (tab.errors, tab.outside)
