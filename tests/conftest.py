"""Shared fixtures: a runtime on a fresh database (SQLite by default, PostgreSQL when
MAILFLOW_TEST_DATABASE_URL is set), a frozen clock, and a real aiosmtpd relay."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from mailflow.clock import FrozenClock
from mailflow.config import Config
from mailflow.issuers import sync_issuers
from mailflow.runtime import Runtime, open_runtime
from tests.support import dns_stub
from tests.support.env import PG_URL, PostgresDatabase, frozen_clock, sqlite_url, test_config, truncate_all
from tests.support.relay import Relay


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabase | None]:
    if not PG_URL:
        yield None
        return
    database = PostgresDatabase(PG_URL).create()
    yield database
    database.drop()


@pytest.fixture
def database_url(tmp_path: Path, postgres: PostgresDatabase | None) -> str:
    return postgres.url if postgres else sqlite_url(tmp_path)


@pytest.fixture
def clock() -> FrozenClock:
    return frozen_clock()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return test_config(tmp_path, database_url)


@pytest.fixture
def rt(config: Config, clock: FrozenClock, postgres: PostgresDatabase | None) -> Iterator[Runtime]:
    runtime = open_runtime(config, clock=clock)
    if postgres:
        truncate_all(runtime.db)
        sync_issuers(config.issuers)
    yield runtime
    runtime.close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = Relay().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_rt(rt: Runtime, relay: Relay) -> Runtime:
    """The runtime, delivering through the test relay."""
    rt.config.outbound.transport = "smtp"
    rt.config.outbound.smtp_host = "127.0.0.1"
    rt.config.outbound.smtp_port = relay.port
    rt.config.outbound.smtp_timeout = 5.0
    rt.__dict__.pop("transport", None)
    return rt


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    dns_stub.stop_shared()  # its UDP and TCP sockets, closed rather than left to the interpreter's exit
