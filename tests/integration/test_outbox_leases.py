"""Outbox leases: an outcome counts only while its worker still holds the row."""

from __future__ import annotations

from datetime import timedelta

from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.outbox import Outcome
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
