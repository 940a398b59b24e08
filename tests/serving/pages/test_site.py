"""The pages' frame against the real server: bundled assets, the admin login, and a
real browser logging in through the form."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.serving.client import ADMIN_KEY, Server, get
from tests.serving.pages.browser import visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _post(base: str, path: str, body: object) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_assets_are_served_by_the_service(server: Server) -> None:
    status, plotly = get(server.base, "/assets/plotly.min.js")
    assert status == 200 and "Plotly" in plotly[:5000] and len(plotly) > 1_000_000
    assert get(server.base, "/assets/app.css")[0] == 200
    assert get(server.base, "/assets/tables.js")[0] == 200
    assert get(server.base, "/assets/nothing.js")[0] == 404
    assert get(server.base, "/assets/..%2Fsite.py")[0] == 404
    assert get(server.base, "/assets/a%00b.js")[0] == 404  # never a 500


def test_login_takes_only_the_admin_key_and_never_puts_it_in_the_cookie(server: Server) -> None:
    status, _, body = _post(server.base, "/login", {"key": "guess"})
    assert status == 401 and json.loads(body)["fields"] == ["key"]
    assert _post(server.base, "/login", ["not", "an", "object"])[0] == 401
    status, headers, _ = _post(server.base, "/login", {"key": ADMIN_KEY})
    cookie = headers["set-cookie"]
    assert status == 200 and "storefront_session=" in cookie
    assert ADMIN_KEY not in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_browser_logs_in_through_the_form(server: Server, browser: object) -> None:
    tab = visit(browser, server.base, admin=False)
    tab.open("/login?next=/docs")
    tab.tab.fill("input[name=key]", "wrong")
    tab.tab.click("button[type=submit]")
    tab.tab.wait_for_selector("text=That is not the admin key.")
    tab.tab.fill("input[name=key]", ADMIN_KEY)
    tab.tab.click("button[type=submit]")
    tab.tab.wait_for_url(server.base + "/docs")
    cookies = tab.tab.context.cookies()
    assert [c["name"] for c in cookies] == ["storefront_session"]
    assert not tab.outside, tab.outside
