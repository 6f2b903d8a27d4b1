"""The viewer next to other writers: a POST waits for a busy database, and past the wait changes nothing."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from mailflow.models import LoginRequest
from mailflow.runtime import open_runtime
from tests.support import factories
from tests.support.env import PG_URL
from tests.support.web import client, csrf

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's database-wide write lock")


@pytest.fixture
def short_wait(config, clock):
    config.database.busy_timeout_seconds = 0.3
    runtime = open_runtime(config, clock=clock)
    yield runtime
    runtime.close()


def hold_write_lock(config) -> sqlite3.Connection:
    """Another process's writer, as an import or the worker would be."""
    holder = sqlite3.connect(config.database.url.removeprefix("sqlite:///"), isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def ask(web, token: str):
    return web.post("/login", data={"csrf_token": token, "email": "marie.dupont@example.be"})


def test_a_post_past_the_wait_answers_503_and_changes_nothing(short_wait, config):
    factories.customer(short_wait)
    web = client(short_wait)
    token = csrf(web)
    holder = hold_write_lock(config)
    answer = ask(web, token)
    holder.rollback()
    assert answer.status_code == 503 and "nothing was changed" in answer.text
    assert answer.headers["retry-after"] == "5"
    assert LoginRequest.select().count() == 0
    assert ask(web, token).status_code == 200 and LoginRequest.select().count() == 1


def test_a_post_waits_for_a_short_write_to_finish(short_wait, config):
    factories.customer(short_wait)
    web = client(short_wait)
    token = csrf(web)
    holder = hold_write_lock(config)
    threading.Timer(0.5, holder.rollback).start()  # longer than one wait: the retry gets through
    assert ask(web, token).status_code == 200
    assert LoginRequest.select().count() == 1
