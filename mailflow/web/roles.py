"""The web role of `mailflow serve`: uvicorn on [web] host/port in a thread, stopped by the shared event."""

from __future__ import annotations

import errno
import socket
import threading

import uvicorn

from mailflow.errors import ConfigError, PortInUse
from mailflow.runtime import Runtime
from mailflow.serve import role, thread
from mailflow.web.app import create_app


def server(rt: Runtime, host: str | None = None, port: int | None = None) -> uvicorn.Server:
    web = rt.config.web
    config = uvicorn.Config(create_app(rt), host=host or web.host, port=web.port if port is None else port,
                            log_level="warning", access_log=False, server_header=False, lifespan="off",
                            log_config=None,  # its lines go through mailflow's own handler and format
                            **forwarding(web.trusted_proxies))
    return uvicorn.Server(config)


def forwarding(trusted_proxies: list[str]) -> dict[str, object]:
    """X-Forwarded-For/-Proto are believed only from the configured proxies, never from any client.

    uvicorn would otherwise trust them from 127.0.0.1 (or $FORWARDED_ALLOW_IPS), so a local client
    could pick its own address and dodge the per-IP limits.
    """
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted_proxies)}


def listen(host: str, port: int) -> socket.socket:
    """The viewer's listening socket, bound here so a taken port fails `serve` before it says it started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"[web] port {port} on {host} is already in use") from exc
        raise ConfigError(f"[web] cannot listen on {host} port {port}: {exc.strerror or exc}") from exc


def run_until(web: uvicorn.Server, stop: threading.Event, sock: socket.socket | None = None) -> None:
    """Serve until `stop` is set; uvicorn then finishes open requests and returns."""
    watcher = threading.Thread(target=lambda: (stop.wait(), setattr(web, "should_exit", True)),
                               name="web-stop", daemon=True)
    watcher.start()
    try:
        web.run(sockets=[sock] if sock else None)
    finally:
        if sock:
            sock.close()


@role("web")
def start_web(rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    web = server(rt)
    sock = listen(rt.config.web.host, rt.config.web.port)
    return [thread("web", lambda: run_until(web, stop, sock))]
