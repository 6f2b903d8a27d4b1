"""The web role of `mailflow serve`: uvicorn on [web] host/port in a thread, stopped by the shared event."""

from __future__ import annotations

import threading

import uvicorn

from mailflow.runtime import Runtime
from mailflow.serve import role, thread
from mailflow.web.app import create_app


def server(rt: Runtime, host: str | None = None, port: int | None = None) -> uvicorn.Server:
    config = uvicorn.Config(create_app(rt), host=host or rt.config.web.host, port=rt.config.web.port
                            if port is None else port, log_level="warning", access_log=False,
                            proxy_headers=True, server_header=False, lifespan="off")
    return uvicorn.Server(config)


def run_until(web: uvicorn.Server, stop: threading.Event) -> None:
    """Serve until `stop` is set; uvicorn then finishes open requests and returns."""
    watcher = threading.Thread(target=lambda: (stop.wait(), setattr(web, "should_exit", True)),
                               name="web-stop", daemon=True)
    watcher.start()
    web.run()


@role("web")
def start_web(rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    web = server(rt)
    return [thread("web", lambda: run_until(web, stop))]
