"""The inbound worker's leases: one owner at a time, crashed workers' messages taken over, nothing done twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mailflow.clock import naive_utc
from mailflow.inbound import processing
from mailflow.inbound.processing import InboundWorker, claim, process, reprocess
from mailflow.inbound.store import store_raw
from mailflow.models import InboundMessage, Outbox
from tests.support import factories
from tests.support.inbound import message
from tests.support.processes import wait_for


def stored(rt, body: str = "AIDE", n: int = 1) -> InboundMessage:
    return store_raw(rt, message(factories.MARIE.email, body=body, message_id=f"<w{n}@c.example>"), "pipe")


def test_a_claimed_message_is_nobody_elses_until_its_lease_runs_out(rt):
    stored(rt)
    [mine] = claim(rt)
    assert claim(rt) == []
    rt.clock.advance(seconds=rt.config.inbound.lease_seconds + 1)
    [again] = claim(rt)
    assert (again.id, again.attempts) == (mine.id, 2)


def test_a_worker_that_lost_its_lease_leaves_no_trace(rt):
    factories.customer(rt)
    stored(rt)
    [slow] = claim(rt)
    rt.clock.advance(seconds=rt.config.inbound.lease_seconds + 1)
    [fast] = claim(rt)
    assert process(rt, fast) == "processed"
    assert process(rt, slow) == "lost"
    assert Outbox.select().where(Outbox.kind == "answer").count() == 1


def test_a_message_that_keeps_killing_its_worker_is_failed_not_retried_forever(rt):
    row = stored(rt)
    for _ in range(processing.MAX_ATTEMPTS + 1):
        claim(rt)
        rt.clock.advance(seconds=rt.config.inbound.lease_seconds + 1)
    assert InboundWorker(rt).flush() == {"failed": 1}
    assert "gave up" in InboundMessage.get_by_id(row.id).error


def test_a_purged_message_fails_with_a_clear_reason(rt):
    row = stored(rt)
    InboundMessage.update(raw=None).where(InboundMessage.id == row.id).execute()
    assert InboundWorker(rt).flush() == {"failed": 1}
    assert "purged" in InboundMessage.get_by_id(row.id).error


def test_reprocess_handles_a_message_again(rt):
    factories.customer(rt)
    row = stored(rt)
    InboundWorker(rt).flush()
    again = reprocess(rt, row.id)
    assert again.status == "processed" and again.attempts == 1
    assert Outbox.select().where(Outbox.kind == "answer").count() == 2


def test_a_live_worker_keeps_its_lease_however_long_a_message_takes(rt):
    factories.customer(rt)
    row = stored(rt)
    rt.config.inbound.lease_seconds = 1  # renewed every third of a second
    looked: list[InboundMessage] = []

    @contextmanager
    def slow(size: int) -> Iterator[None]:
        if size:  # the message itself, not the claim: it takes far longer than the lease
            rt.clock.advance(seconds=30)
            wait_for(lambda: InboundMessage.get_by_id(row.id).lease_until > naive_utc(rt.now()), 30, "a renewal")
            looked.extend(claim(rt))  # another worker looks meanwhile
        yield

    assert InboundWorker(rt, turn=slow).flush() == {"processed": 1}
    assert looked == []
    assert InboundMessage.get_by_id(row.id).lease_owner is None
