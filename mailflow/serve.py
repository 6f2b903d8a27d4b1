"""`mailflow serve`: runs the chosen roles (web, inbound, worker, scheduler) in one process until stopped."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from peewee import DatabaseError, InterfaceError

from mailflow import wakeup
from mailflow.db import first_line
from mailflow.masking import masked
from mailflow.errors import MailflowError
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

RoleStarter = Callable[[Runtime, threading.Event], list[threading.Thread]]
ROLES: dict[str, RoleStarter] = {}
WATCH_SECONDS = 0.5  # how soon a role thread that ended on its own is noticed
JOIN_SECONDS = 30


class RoleFailed(MailflowError):
    """A role could not start, or one of its threads ended while serve was running."""

    # EX_SOFTWARE: nothing the operator typed; the process exits so that a supervisor
    # (systemd's Restart=on-failure) starts it again instead of it running half-alive.
    exit_code = 70


class RoleThread(threading.Thread):
    """A role's thread; it keeps what ended it, so serve can say why a role stopped."""

    failure: BaseException | None = None

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:  # uvicorn even ends its thread with SystemExit
            self.failure = exc
            log.error("thread %s failed", self.name, exc_info=exc)


def role(name: str) -> Callable[[RoleStarter], RoleStarter]:
    def register(starter: RoleStarter) -> RoleStarter:
        ROLES[name] = starter
        return starter
    return register


def thread(name: str, target: Callable[[], None]) -> threading.Thread:
    worker = RoleThread(target=target, name=name, daemon=True)
    worker.start()
    return worker


@role("worker")
def start_worker(rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    return [thread("delivery", lambda: DeliveryWorker(rt).run(stop))]


def serve(rt: Runtime, roles: list[str], stop: threading.Event | None = None) -> None:
    """Start every role, then run until SIGINT/SIGTERM (or `stop`) and shut down in order.

    A role that cannot start, or whose thread ends on its own, stops every role and raises.
    """
    stop = stop or threading.Event()
    rt.roles = frozenset(roles)
    with _signals_set(stop), _listening(rt, roles):
        threads = start_roles(rt, roles, stop)
        _started(rt, roles)  # said only once every role listens: "serving" in the log means the ports are taken
        try:
            watch(threads, stop)
        finally:
            stop_all(threads, stop, rt)
            log.info("mailflow stopped roles %s (pid %d)", ", ".join(roles), os.getpid(),
                     extra={"event": "stopped", "roles": roles, "pid": os.getpid()})


def _started(rt: Runtime, roles: list[str]) -> None:
    source = rt.config.source
    named = f"config {source}" if source else "no config file: defaults and environment"
    database = masked(rt.config.database.url)
    log.info("mailflow serving roles %s (pid %d); viewer %s; %s; database %s", ", ".join(roles), os.getpid(),
             rt.config.web.base_url, named, database,
             extra={"event": "started", "roles": roles, "pid": os.getpid(), "config": str(source or ""),
                    "database": database})


def start_roles(rt: Runtime, roles: list[str], stop: threading.Event) -> list[threading.Thread]:
    """Start the roles in order; when one cannot start, stop those already started and raise why."""
    started: list[threading.Thread] = []
    for name in roles:
        try:
            started += _start(name, rt, stop)
        except Exception as exc:
            stop_all(started, stop, rt)
            raise _cannot_start(name, exc) from exc
    return started


def _cannot_start(name: str, exc: Exception) -> Exception:
    if isinstance(exc, (MailflowError, DatabaseError, InterfaceError)):  # already say what is wrong
        return exc
    log.debug("role %s could not start", name, exc_info=exc)  # -v shows where; the error line says why
    return RoleFailed(f"[{name}] could not start: {first_line(exc)}")


def watch(threads: list[threading.Thread], stop: threading.Event) -> None:
    """Wait for `stop`; a role thread ending before it is an error (RoleFailed)."""
    while not stop.wait(WATCH_SECONDS):
        ended = next((t for t in threads if not t.is_alive()), None)
        if ended is not None:
            raise _ended(ended)


def _ended(worker: threading.Thread) -> RoleFailed:
    failure = getattr(worker, "failure", None)
    why = f": {type(failure).__name__}: {first_line(failure)}" if failure else ""
    log.error("thread %s stopped unexpectedly%s; stopping every role", worker.name, why)
    return RoleFailed(f"thread {worker.name} stopped unexpectedly{why}")


def stop_all(threads: list[threading.Thread], stop: threading.Event, rt: Runtime) -> None:
    stop.set()
    rt.wakeups.notify_all()  # workers waiting for work see `stop` now, not at their next poll
    for worker in threads:
        worker.join(timeout=JOIN_SECONDS)
        if worker.is_alive():
            log.warning("thread %s did not stop within %d s", worker.name, JOIN_SECONDS)


ROLE_MODULES = {"web": "mailflow.web.roles", "inbound": "mailflow.inbound.roles",
                "scheduler": "mailflow.scheduler.roles", "worker": __name__}


def _start(name: str, rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    # A role registers itself when its module is imported; only chosen roles are loaded.
    importlib.import_module(ROLE_MODULES[name])
    return ROLES[name](rt, stop)


WORKING_ROLES = frozenset({"inbound", "worker", "scheduler"})  # the roles with workers waiting for work


@contextmanager
def _listening(rt: Runtime, roles: list[str]) -> Iterator[None]:
    """Wake this process's workers for what other processes commit (a CLI import, another serve)."""
    if WORKING_ROLES.isdisjoint(roles):
        yield
        return
    with wakeup.listening(rt.wakeups, rt.db, rt.config.database.url, rt.config.database.change_check_seconds):
        yield


@contextmanager
def _signals_set(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` while serving; the handlers before are put back afterwards."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may install them
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


ALL_ROLES = tuple(ROLE_MODULES)
