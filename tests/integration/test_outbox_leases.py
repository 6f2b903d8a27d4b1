"""Outbox leases: an outcome counts only while its worker still holds the row, and a worker that lost its rows
sends no more of them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.outbound.outbox import Outcome
from tests.integration.test_worker_processes import fill_outbox
from tests.support import factories

LEASE = timedelta(seconds=60)


def test_an_outcome_after_the_lease_was_taken_over_changes_nothing(rt, clock):
    factories.customer(rt)
    factories.document(rt)
    [late] = outbox.claim("worker-a", 10, rt.now(), LEASE)
    clock.advance(seconds=61)  # worker-a stalled past its lease: worker-b takes the mail over
    [taken] = outbox.claim("worker-b", 10, rt.now(), LEASE)
    assert taken.id == late.id
    assert outbox.record([Outcome(late, "failed", "550 too late")]) == [("failed", False)]
    row = Outbox.get_by_id(late.id)
    assert (row.status, row.lease_owner, row.last_response) == ("sending", "worker-b", None)
    assert outbox.record([Outcome(taken, "sent", "250 ok", rt.now())]) == [("sent", True)]
    assert Outbox.get_by_id(late.id).status == "sent"


def test_a_worker_that_finds_its_batch_taken_over_sends_no_more_of_it(smtp_rt, relay, clock):
    smtp_rt.config.outbound.lease_seconds = 1  # renewed every third of a second
    expected = fill_outbox(smtp_rt, 3)
    original = relay.handler.handle_DATA
    taken: list[Outbox] = []

    async def stalled(server, session, envelope):
        if not relay.received and not taken:  # the worker stalls past its lease on its first mail...
            clock.advance(seconds=5)
            taken.extend(outbox.claim("worker-b", 10, clock.now(), LEASE))  # ...and another takes the batch
            smtp_rt.db.close()  # this thread's connection
            await asyncio.sleep(1)  # the stalled worker's next renewals find the rows gone
        return await original(server, session, envelope)

    relay.handler.handle_DATA = stalled
    report = DeliveryWorker(smtp_rt).run_once()
    assert len(taken) == 3 and len(relay.received) == 1  # the mail in the relay's hands, nothing after it
    assert (report.sent, report.lost_lease) == (0, 3)  # its outcome is not recorded over worker-b's lease
    assert {(row.status, row.lease_owner) for row in Outbox.select()} == {("sending", "worker-b")}
    assert {r.message["Message-ID"] for r in relay.received} < expected
