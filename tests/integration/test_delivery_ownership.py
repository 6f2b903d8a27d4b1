"""Delivery has one owner: a split deployment's scheduler process sends nothing, a live worker keeps its lease
however long its batch, and a worker killed mid-batch costs no more duplicates than the documented bound."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

from mailflow.inbound.smtp_server import free_port
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.delivery import GROUP
from tests.integration.test_worker_processes import fill_outbox, received_ids, worker_env
from tests.support.processes import start, stop, wait_for

LEASE = 2  # seconds, renewed every third of it; production's 15 s would only make the test slower
POLL = 0.2
SLOW = 0.05  # the relay's time per message: a batch of 100 outlives its first lease several times over


def logged(log: Path, words: str) -> bool:
    return log.exists() and words in log.read_text(errors="replace")


def slow_relay(relay, seconds: float) -> None:
    original = relay.handler.handle_DATA

    async def slow(server, session, envelope):
        await asyncio.sleep(seconds)
        return await original(server, session, envelope)

    relay.handler.handle_DATA = slow


def test_a_scheduler_process_without_worker_delivers_nothing_and_a_single_serve_does(rt, relay, tmp_path):
    expected = fill_outbox(rt, 5)
    env = worker_env(rt, relay)
    log = tmp_path / "scheduler.log"
    scheduler = start(["serve", "--role", "scheduler"], env, log)
    try:
        wait_for(lambda: logged(log, "does not deliver the outbox"), 60, "the scheduler's start-up", (scheduler,))
        expected |= one_more(rt)  # committed while it listens: a wakeup it must leave to the workers
        time.sleep(10 * POLL)  # ten of its polls; a sender would have sent by now
        assert scheduler.poll() is None
    finally:
        stop(scheduler)
    assert relay.received == []
    assert {row.status for row in Outbox.select()} == {"queued"}
    single = tmp_path / "serve.log"
    whole = start(["serve"], env | ports(), single)
    try:
        wait_for(lambda: set(received_ids(relay)) == expected, 60, "a single serve to deliver", (whole,))
    finally:
        stop(whole)
    assert logged(single, "outbox delivered by this process's worker role")


def one_more(rt) -> set[str]:
    raw = b"Message-ID: <later@test>\r\nSubject: later\r\n\r\nbody\r\n"
    outbox.enqueue(outbox.Mail("<later@test>", raw, "later@example.be", "later", "notice"), rt.now())
    return {"<later@test>"}


def ports() -> dict[str, str]:
    return {"MAILFLOW_WEB_PORT": str(free_port("127.0.0.1")), "MAILFLOW_INBOUND_SMTP_PORT": str(free_port("127.0.0.1")),
            "MAILFLOW_INBOUND_IMAP_ENABLED": "false"}


def test_a_worker_killed_mid_batch_is_taken_over_within_a_lease_with_a_bounded_burst(rt, relay, tmp_path):
    slow_relay(relay, SLOW)
    env = worker_env(rt, relay, outbound_batch_size=100, outbound_lease_seconds=LEASE)
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    workers = {w.pid: w for w in (start(["serve", "--role", "worker"], env, log) for log in logs)}
    try:
        wait_for(lambda: all(logged(log, "delivering the outbox as") for log in logs), 60, "two workers",
                 tuple(workers.values()))
        expected = fill_outbox(rt, 100)  # one batch: whichever worker claims it holds every row
        wait_for(lambda: len(relay.received) >= 5, 60, "the first mails", tuple(workers.values()))
        owner = Outbox.select(Outbox.lease_owner).where(Outbox.status == "sending").limit(1).scalar()
        holder = workers[int(owner.split(":")[1])]
        # 1.5 leases into the batch: the other worker polled all along, the heartbeat kept the rows
        wait_for(lambda: len(relay.received) >= 60, 60, "60 mails", (holder,))
        assert max(Counter(received_ids(relay)).values()) == 1
        stop(holder, signal.SIGKILL)
        killed_at, sent_before = time.monotonic(), len(relay.received)
        wait_for(lambda: not Outbox.select().where(Outbox.lease_owner == owner).exists(), 60, "a takeover")
        takeover = time.monotonic() - killed_at
        wait_for(lambda: not Outbox.select().where(Outbox.status != "sent").exists(), 60, "the outbox to drain")
    finally:
        for worker in workers.values():
            stop(worker)
    seen = Counter(received_ids(relay))
    twice = sum(1 for count in seen.values() if count > 1)
    print(f"worker killed after {sent_before} of 100 mails: its rows taken over in {takeover:.1f} s (lease {LEASE} s);"
          f" burst: {twice} Message-ID(s) sent twice (bound {GROUP})")
    assert set(seen) == expected and max(seen.values()) <= 2
    assert twice <= GROUP
    assert takeover < 3 * LEASE + POLL
