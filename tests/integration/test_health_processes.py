"""/healthz and /metrics of a web process tell what other processes did: a killed worker's batch, a live IMAP poller."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mailflow.models import ImapLiveness, Outbox
from mailflow.outbound import outbox
from tests.support.dovecot import DovecotServer, dovecot_server  # noqa: F401 (a fixture)
from tests.support.processes import mailflow_env, start, stop, wait_for
from tests.support.relay import free_port

BATCH = 8


class WebProcess:
    """`mailflow serve --role web` on a free port; its /healthz and /metrics."""

    def __init__(self, config, log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = mailflow_env(config, web_host="127.0.0.1", web_port=port, web_base_url=self.url)
        self.process = start(["serve", "--role", "web"], env, log)
        wait_for(self._answers, 30, "the web process to answer", (self.process,))

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def health(self) -> dict:
        return httpx.get(f"{self.url}/healthz", timeout=5).json()

    def metric(self, name: str) -> float:
        found = re.search(rf"^{name} (\S+)$", httpx.get(f"{self.url}/metrics", timeout=5).text, re.M)
        assert found, f"{name} not in /metrics"
        return float(found.group(1))


@pytest.fixture
def web(rt, tmp_path) -> Iterator[WebProcess]:
    started = WebProcess(rt.config, tmp_path / "web.log")
    yield started
    stop(started.process)


def fill(rt, count: int) -> None:
    with rt.db.atomic():
        for n in range(count):
            raw = f"Message-ID: <h{n}@test>\r\nSubject: n {n}\r\n\r\nbody\r\n".encode()
            outbox.enqueue(outbox.Mail(f"<h{n}@test>", raw, f"user{n}@example.be", f"n {n}", "notice"), rt.now())


def slow_relay(relay, seconds: float) -> None:
    original = relay.handler.handle_DATA

    async def slow(server, session, envelope):
        await asyncio.sleep(seconds)  # the batch stays in the worker's hands long enough to kill it there
        return await original(server, session, envelope)

    relay.handler.handle_DATA = slow


def sending() -> int:
    return Outbox.select().where(Outbox.status == "sending").count()


def test_a_killed_worker_s_batch_is_backlog_once_its_lease_ran_out(rt, relay, web, tmp_path):
    fill(rt, BATCH)
    slow_relay(relay, 1.0)
    env = mailflow_env(rt.config, outbound_transport="smtp", outbound_smtp_port=relay.port,
                       outbound_batch_size=BATCH, outbound_lease_seconds=2, outbound_poll_seconds=0.2)
    worker = start(["serve", "--role", "worker"], env, tmp_path / "worker.log")
    try:
        wait_for(lambda: web.health()["outbox_leased"] == BATCH, 30, "the batch leased", (worker,))
        assert web.health()["outbox_backlog"] == 0  # held by a live worker: not waiting
    finally:
        stop(worker, signal.SIGKILL)
    left = sending()
    assert 0 < left <= BATCH
    wait_for(lambda: web.health()["outbox_backlog"] == left, 20, "the dead worker's rows in the backlog")
    body = web.health()
    assert (body["outbox_expired_leases"], body["outbox_leased"]) == (left, 0)
    assert body["outbox_overdue_seconds"] >= 0 and body["oldest_due_seconds"] > 0
    assert web.metric("mailflow_outbox_backlog") == left and web.metric("mailflow_outbox_expired_leases") == left
    assert web.metric("mailflow_outbox_leased") == 0


def imap_env(rt, server: DovecotServer, renew: int) -> dict[str, str]:
    return mailflow_env(rt.config, inbound_smtp_enabled="false", inbound_imap_enabled="true",
                        inbound_imap_host=server.host, inbound_imap_port=server.port, inbound_imap_ssl="false",
                        inbound_imap_username=server.user, inbound_imap_password=server.password,
                        inbound_imap_idle_renew_seconds=renew)


def alive_seconds(web: WebProcess) -> float:
    return web.health()["imap_last_alive_seconds"]


@pytest.mark.dovecot
def test_an_idle_poller_stays_alive_without_mail_and_a_web_started_before_it_sees_it(
        rt, web, dovecot_server, tmp_path):  # noqa: F811
    before = web.health()
    assert before["imap_enabled"] is False and before["imap_last_alive_seconds"] is None
    inbound = start(["serve", "--role", "inbound"], imap_env(rt, dovecot_server, 1), tmp_path / "inbound.log")
    try:
        wait_for(lambda: web.health()["imap_enabled"], 30, "the poller seen by the web process", (inbound,))
        first_poll = web.health()["last_imap_poll"]
        # no mail at all, for several renewals: IDLE renewals keep the poller's liveness fresh
        wait_for(lambda: ImapLiveness.select().where(ImapLiveness.idle_at.is_null(False)).count() == 1, 15,
                 "an IDLE renewal recorded", (inbound,))
        samples = [_sample(web) for _ in range(2)]
    finally:
        stop(inbound)
    assert max(samples) < 5  # renewed every second; held loosely
    assert web.health()["last_imap_poll"] > first_poll
    stopped = web.health()
    assert stopped["imap_enabled"] is False and stopped["imap_last_error"] is None


def _sample(web: WebProcess) -> float:
    time.sleep(1.2)
    return max(alive_seconds(web), web.metric("mailflow_imap_last_alive_seconds"))
