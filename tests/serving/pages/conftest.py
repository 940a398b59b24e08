"""Fixtures of the page tests: Debian's Chromium (installed by ``scripts/services.sh
browser`` when missing, never downloaded by Playwright) driven by Playwright, and a
logged-in browser context on the serving tests' server."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from storefront.config import PROJECT_ROOT


@functools.cache
def _chromium() -> str:
    given = os.environ.get("STOREFRONT_TEST_CHROMIUM")
    if given:
        return given
    script = PROJECT_ROOT / "scripts" / "services.sh"
    out = subprocess.run(
        ["bash", str(script), "browser"], check=True, capture_output=True, text=True
    ).stdout
    return out.strip().rpartition("=")[2]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's) under Playwright, for one test module: Playwright's
    sync API keeps an event loop running while it is open, and later tests that call
    ``asyncio.run`` (the overload and security tests) must not find one."""
    from playwright.sync_api import sync_playwright

    path = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()
