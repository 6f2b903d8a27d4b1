"""The web role of `mailflow serve`: uvicorn on [web] host/port in a thread, stopped by the shared event."""

from __future__ import annotations

import threading
import time

import httpx

from mailflow.web.roles import start_web
from tests.support.relay import free_port


def test_the_web_role_serves_until_the_stop_event(rt):
    rt.config.web.host, rt.config.web.port = "127.0.0.1", free_port()
    stop = threading.Event()
    threads = start_web(rt, stop)
    url = f"http://127.0.0.1:{rt.config.web.port}/login"
    deadline = time.monotonic() + 20
    while True:
        try:
            answer = httpx.get(url, headers={"accept-language": "nl"})
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the viewer never answered"
            time.sleep(0.05)
    assert answer.status_code == 200 and "Meld u aan" in answer.text
    assert "server" not in answer.headers  # no version banner
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive()
