"""`mailflow serve`: runs the chosen roles (web, inbound, worker, scheduler) in one process until stopped."""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from typing import Callable

from mailflow.outbound.delivery import DeliveryWorker
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

RoleStarter = Callable[[Runtime, threading.Event], list[threading.Thread]]
ROLES: dict[str, RoleStarter] = {}


def role(name: str) -> Callable[[RoleStarter], RoleStarter]:
    def register(starter: RoleStarter) -> RoleStarter:
        ROLES[name] = starter
        return starter
    return register


def thread(name: str, target: Callable[[], None]) -> threading.Thread:
    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    return worker


@role("worker")
def start_worker(rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    return [thread("delivery", lambda: DeliveryWorker(rt).run(stop))]


def serve(rt: Runtime, roles: list[str], stop: threading.Event | None = None) -> None:
    """Start every role, then wait for SIGINT/SIGTERM (or `stop`) and shut down in order."""
    stop = stop or threading.Event()
    rt.roles = frozenset(roles)
    _install_signals(stop)
    threads = [t for name in roles for t in _start(name, rt, stop)]
    log.info("mailflow serving roles: %s", ", ".join(roles))
    stop.wait()
    for worker in threads:
        worker.join(timeout=30)


ROLE_MODULES = {"web": "mailflow.web.roles", "inbound": "mailflow.inbound.roles",
                "scheduler": "mailflow.scheduler.roles", "worker": __name__}


def _start(name: str, rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    # A role registers itself when its module is imported; only chosen roles are loaded.
    importlib.import_module(ROLE_MODULES[name])
    return ROLES[name](rt, stop)


def _install_signals(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())


ALL_ROLES = tuple(ROLE_MODULES)
