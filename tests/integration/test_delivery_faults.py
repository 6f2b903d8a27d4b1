"""Relay answers and worker crashes: temporary failures retry, permanent ones fail, nothing is lost."""

from __future__ import annotations

from datetime import timedelta

from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.relay import free_port


def _one_mail(rt) -> Outbox:
    factories.customer(rt)
    factories.document(rt)
    return Outbox.get()


def test_451_then_250_is_delivered_exactly_once(smtp_rt, relay, clock):
    row = _one_mail(smtp_rt)
    relay.handler.data_script.append("451 4.3.0 Try again later")
    assert DeliveryWorker(smtp_rt).flush().deferred == 1
    row = Outbox.get_by_id(row.id)
    assert row.status == "deferred" and "451" in row.last_response and not relay.received
    assert DeliveryWorker(smtp_rt).flush().handled == 0  # not due before its back-off
    clock.advance(seconds=smtp_rt.config.outbound.retry_initial_seconds + 1)
    assert DeliveryWorker(smtp_rt).flush().sent == 1
    assert len(relay.received) == 1 and Outbox.get_by_id(row.id).status == "sent"
    clock.advance(hours=2)
    assert DeliveryWorker(smtp_rt).flush().handled == 0 and len(relay.received) == 1


def test_550_fails_with_the_answer_stored(smtp_rt, relay):
    row = _one_mail(smtp_rt)
    relay.handler.rcpt_script.append("550 5.1.1 <marie.dupont@example.be>: Recipient address rejected")
    assert DeliveryWorker(smtp_rt).flush().failed == 1
    row = Outbox.get_by_id(row.id)
    assert row.status == "failed"
    assert row.last_response.startswith("RCPT TO: 550 5.1.1") and "Recipient address rejected" in row.last_response


def test_a_refusal_does_not_spoil_the_rest_of_the_batch(smtp_rt, relay):
    factories.customer(smtp_rt)
    factories.share(smtp_rt)
    factories.document(smtp_rt)
    relay.handler.rcpt_script.append("550 5.1.1 No such user")
    report = DeliveryWorker(smtp_rt).flush()
    assert (report.failed, report.sent) == (1, 1) and len(relay.received) == 1


def test_relay_down_is_retried_later_and_nothing_is_lost(smtp_rt, relay, clock):
    row = _one_mail(smtp_rt)
    smtp_rt.config.outbound.smtp_port = free_port()  # nothing listens there
    smtp_rt.__dict__.pop("transport", None)
    assert DeliveryWorker(smtp_rt).flush().deferred == 1
    row = Outbox.get_by_id(row.id)
    assert row.status == "deferred" and "unreachable" in row.last_response and row.attempts == 1
    smtp_rt.config.outbound.smtp_port = relay.port
    smtp_rt.__dict__.pop("transport", None)
    clock.advance(minutes=5)
    assert DeliveryWorker(smtp_rt).flush().sent == 1 and len(relay.received) == 1


def test_back_off_doubles_and_gives_up_after_the_configured_age(smtp_rt, relay, clock):
    row = _one_mail(smtp_rt)
    cfg = smtp_rt.config.outbound
    for attempt in range(1, 4):
        relay.handler.data_script.append("452 4.3.1 Insufficient system storage")
        DeliveryWorker(smtp_rt).flush()
        row = Outbox.get_by_id(row.id)
        expected = outbox.retry_delay(attempt, cfg.retry_initial_seconds, cfg.retry_max_seconds)
        assert row.next_attempt_at == (clock.now() + expected).replace(tzinfo=None)
        clock.advance(seconds=expected.total_seconds())
    clock.advance(hours=cfg.give_up_hours)
    relay.handler.data_script.append("451 4.3.0 still no")
    DeliveryWorker(smtp_rt).flush()
    row = Outbox.get_by_id(row.id)
    assert row.status == "failed" and row.last_response.startswith("gave up after 4 attempts")
    assert not relay.received


def test_crashed_worker_mail_is_delivered_once_after_the_lease(smtp_rt, relay, clock):
    row = _one_mail(smtp_rt)
    lease = timedelta(seconds=smtp_rt.config.outbound.lease_seconds)
    claimed = outbox.claim("crashed-worker", 10, clock.now(), lease)  # then it dies
    assert [r.id for r in claimed] == [row.id]
    survivor = DeliveryWorker(smtp_rt)
    assert survivor.flush().handled == 0  # the lease still protects the row
    clock.advance(seconds=lease.total_seconds() + 1)
    assert survivor.flush().sent == 1
    assert len(relay.received) == 1
    late = outbox.Outcome(claimed[0], "sent", "250 late", clock.now())
    assert outbox.record([late]) == [("sent", False)]  # the dead worker's lease is gone
    assert Outbox.get_by_id(row.id).lease_owner is None


def test_suppressed_address_is_skipped_with_that_status(smtp_rt, relay):
    from mailflow.models import Suppression

    row = _one_mail(smtp_rt)
    Suppression.create(email="marie.dupont@example.be", score=5, suppressed_at=smtp_rt.now().replace(tzinfo=None),
                       reason="bounced")
    assert DeliveryWorker(smtp_rt).flush().suppressed == 1
    assert Outbox.get_by_id(row.id).status == "suppressed" and not relay.received


def test_relay_dropping_the_connection_mid_batch_loses_nothing(smtp_rt, relay, clock):
    factories.customer(smtp_rt)
    factories.share(smtp_rt)
    factories.document(smtp_rt)
    relay.handler.data_script.append("421 4.3.2 Service shutting down")
    first = DeliveryWorker(smtp_rt).flush()
    assert first.deferred >= 1
    clock.advance(hours=1)
    DeliveryWorker(smtp_rt).flush()
    assert sorted(r.rcpt_tos[0] for r in relay.received) == ["compta@fiduciaire.example", "marie.dupont@example.be"]
    assert Outbox.select().where(Outbox.status != "sent").count() == 0
