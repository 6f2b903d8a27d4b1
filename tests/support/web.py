"""Helpers for HTTP-level tests of the viewer: a client on the real app, logging in through real links."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette prefers httpx2 for its test client; plain httpx still works the same where only it is installed.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from mailflow import tokens
from mailflow.models import User
from mailflow.runtime import Runtime
from mailflow.web.app import create_app

BASE = "https://portal.example.test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def client(rt: Runtime, address: str = "testclient", **headers: str) -> TestClient:
    """A browser on the real app; `address` is the client IP the app sees."""
    return TestClient(create_app(rt), base_url=BASE, follow_redirects=False, client=(address, 50000),
                      headers={"accept-language": "en", **headers})


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def csrf(web: TestClient, path: str = "/login") -> str:
    return csrf_of(web.get(path).text)


def link_token(rt: Runtime, user: User, purpose: str = "login", minutes: int = 30) -> str:
    return tokens.issue(user, purpose, rt.now(), timedelta(minutes=minutes))


def login(web: TestClient, rt: Runtime, user: User) -> TestClient:
    """Log `user` in the way a person does: open the link, confirm with the form."""
    raw = link_token(rt, user)
    page = web.get(f"/auth/{raw}")
    assert page.status_code == 200, page.text
    answer = web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(page.text)})
    landing = "/staff" if user.is_staff else "/documents"  # staff land on their console
    assert answer.status_code == 303 and answer.headers["location"] == landing, answer.text
    return web


def post(web: TestClient, path: str, data: dict | None = None, page: str | None = None):
    """POST a form with the CSRF token of the page it is on."""
    token = csrf(web, page or "/settings")
    return web.post(path, data={"csrf_token": token, **(data or {})})
