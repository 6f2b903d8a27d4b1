"""The web role of `mailflow serve`: uvicorn on [web] host/port in a thread, stopped by the shared event."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from mailflow.models import RateCounter
from mailflow.runtime import Runtime
from mailflow.web.roles import start_web
from tests.support.processes import wait_for
from tests.support.relay import free_port
from tests.support.web import csrf_of


@dataclass
class WebRole:
    """The role on a real socket, started once the test has set its configuration."""

    rt: Runtime
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> httpx.Client:
        self.threads += start_web(self.rt, self.stop)
        return httpx.Client(base_url=self.rt.config.web.base_url, timeout=20, headers={"accept-language": "nl"})


@pytest.fixture
def role(rt: Runtime) -> Iterator[WebRole]:
    rt.config.web.host, rt.config.web.port = "127.0.0.1", free_port()
    rt.config.web.base_url = f"http://127.0.0.1:{rt.config.web.port}"  # plain cookies: no TLS here
    started = WebRole(rt)
    yield started
    started.stop.set()
    for thread in started.threads:
        thread.join(timeout=15)
        assert not thread.is_alive()


def test_the_web_role_listens_as_soon_as_it_is_started_and_serves_until_the_stop_event(role):
    with role.start() as web:
        answer = web.get("/login")  # no retry: the socket was bound before start_web returned
    assert answer.status_code == 200 and "Meld u aan" in answer.text
    assert "server" not in answer.headers  # no version banner


def ask_links(web: httpx.Client, forwarded_for: list[str]) -> list[int]:
    token = csrf_of(web.get("/login").text)
    return [web.post("/login", data={"csrf_token": token, "email": f"x{n}@example.be"},
                     headers={"x-forwarded-for": address}).status_code for n, address in enumerate(forwarded_for)]


def ip_counts() -> dict[str, int]:
    return {row.key.removeprefix("login-ip:"): row.count
            for row in RateCounter.select().where(RateCounter.key.startswith("login-ip:"))}


def test_forwarded_addresses_are_not_believed_without_trusted_proxies(rt, role):
    rt.config.limits.login_requests_per_ip_per_hour = 2
    with role.start() as web:
        assert ask_links(web, ["203.0.113.1", "203.0.113.2"]) == [200, 200]
        wait_for(lambda: ip_counts() == {"127.0.0.1": 2}, 20, "both requests counted against the real client")
        assert ask_links(web, ["203.0.113.3"]) == [429]  # a made-up address does not escape the per-IP limit


def test_a_trusted_proxy_s_forwarded_address_is_the_client(rt, role):
    rt.config.limits.login_requests_per_ip_per_hour = 2
    rt.config.web.trusted_proxies = ["127.0.0.1"]
    with role.start() as web:
        assert ask_links(web, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [200, 200, 200]
    wait_for(lambda: ip_counts() == {f"203.0.113.{n}": 1 for n in (1, 2, 3)}, 20, "one count per client")
