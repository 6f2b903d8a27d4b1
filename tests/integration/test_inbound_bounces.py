"""Bounces and complaints through the SMTP door: the named delivery marked, Mailman-style scores, the dead suppressed."""

from __future__ import annotations

import pytest

from mailflow.inbound.bounces import add_point
from mailflow.models import InboundMessage, Outbox, Suppression
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.inbound import (  # noqa: F401 (inbound_smtp is a fixture)
    REPLY_DOMAIN, arf_complaint, inbound_smtp, postfix_dsn, send, settle,
)

MARIE, JAN = factories.MARIE.email, factories.JAN.email


@pytest.fixture
def notice(smtp_rt, relay):
    """Marie's and Jan's notices for F2026-0042 as the relay got them (envelope sender = VERP)."""
    factories.customer(smtp_rt)
    factories.share(smtp_rt)
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    got = relay.to(MARIE)[0]
    relay.received.clear()
    return got


def bounce(rt, server, notice, n: int, **dsn: str) -> InboundMessage:
    raw = postfix_dsn(notice.mail_from, MARIE, notice.message["Message-ID"], dsn_id=f"dsn{n}", **dsn)
    assert send(server, raw, "", notice.mail_from).code == 250
    settle(rt)
    return InboundMessage.select().order_by(InboundMessage.id.desc()).get()


def test_a_temporary_failure_is_recorded_and_not_punished(smtp_rt, relay, inbound_smtp, notice):
    row = bounce(smtp_rt, inbound_smtp, notice, 1, status="4.2.2", diagnostic="Mailbox full")
    delivery = Outbox.get(Outbox.recipient == MARIE)
    assert (row.kind, row.status, row.outbox_id) == ("bounce", "processed", delivery.id)
    assert "temporary" in row.action
    assert delivery.bounced_at is None and delivery.last_response.startswith("delayed (DSN): 4.2.2")
    assert not Suppression.select().exists()


def test_a_full_mailbox_refused_permanently_marks_the_delivery_but_scores_nothing(smtp_rt, relay, inbound_smtp,
                                                                                  notice):
    bounce(smtp_rt, inbound_smtp, notice, 1, status="5.2.2", diagnostic="Mailbox full, quota exceeded")
    assert Outbox.get(Outbox.recipient == MARIE).bounced_at is not None
    assert not Suppression.select().exists()


def test_scores_count_once_a_day_and_a_dead_primary_is_shown_to_staff_and_shared_users(smtp_rt, relay,
                                                                                        inbound_smtp, notice):
    first = bounce(smtp_rt, inbound_smtp, notice, 1)
    bounce(smtp_rt, inbound_smtp, notice, 2)  # same day: no second point
    assert Suppression.get().score == 1 and first.status == "processed"
    smtp_rt.clock.advance(days=1)
    bounce(smtp_rt, inbound_smtp, notice, 3)
    smtp_rt.clock.advance(days=1)
    dead = bounce(smtp_rt, inbound_smtp, notice, 4)
    row = Suppression.get()
    assert row.score == 3 and row.suppressed_at is not None and "5.1.1" in row.reason
    assert dead.status == "staff" and "dead primary contact of DL2123456" in dead.action
    [told] = relay.to(JAN)
    assert MARIE in told.message["Subject"] and "DL2123456" in told.message.get_body(("plain",)).get_content()
    assert relay.to(MARIE) == []  # a bounce is never answered
    factories.document(smtp_rt, number="F2026-0043")
    DeliveryWorker(smtp_rt).flush()
    assert Outbox.get(Outbox.recipient == MARIE, Outbox.status == "suppressed")
    assert len(relay.to(JAN)) == 2


def test_stale_scores_start_again(rt):
    add_point(rt, "x@example.be", "bounce")
    rt.clock.advance(days=rt.config.bounces.stale_days + 1)
    row, newly = add_point(rt, "x@example.be", "bounce")
    assert (row.score, newly) == (1, False)


def test_a_spam_complaint_suppresses_at_once(smtp_rt, relay, inbound_smtp, notice):
    raw = arf_complaint(MARIE, notice.message["Message-ID"], notice.mail_from)
    assert send(inbound_smtp, raw, "feedback@fbl.mailbox.example", f"abuse@{REPLY_DOMAIN}").code == 250
    settle(smtp_rt)
    row = InboundMessage.get()
    assert (row.kind, row.status) == ("complaint", "processed")
    assert row.outbox_id == Outbox.get(Outbox.recipient == MARIE).id
    assert Suppression.get(Suppression.email == MARIE).suppressed_at is not None
    assert relay.received == []


def test_a_complaint_without_verp_uses_the_reported_recipient(smtp_rt, relay, inbound_smtp, notice):
    raw = arf_complaint(JAN, "<other@x>")
    send(inbound_smtp, raw, "feedback@fbl.mailbox.example", f"abuse@{REPLY_DOMAIN}")
    settle(smtp_rt)
    assert Suppression.get().email == JAN


def test_a_forged_verp_address_names_nothing_and_unknown_addresses_are_not_scored(smtp_rt, relay, inbound_smtp,
                                                                                  notice):
    forged = f"bounces+{'a' * 29}@{REPLY_DOMAIN}"
    raw = postfix_dsn(forged, "stranger@example.be", "<x@y>", dsn_id="forged")
    send(inbound_smtp, raw, "", forged)
    settle(smtp_rt)
    row = InboundMessage.get()
    assert (row.status, row.outbox_id) == ("ignored", None)
    assert not Suppression.select().exists() and Outbox.get(Outbox.recipient == MARIE).bounced_at is None


def test_a_bounce_reaching_the_support_address_is_matched_by_the_returned_headers(smtp_rt, relay, inbound_smtp,
                                                                                   notice):
    raw = postfix_dsn(f"support@{REPLY_DOMAIN}", MARIE, notice.message["Message-ID"], dsn_id="fwd")
    raw = raw.replace(b"X-Postfix-Sender: rfc822; support@", b"X-Postfix-Sender: rfc822; x@")
    raw = raw.replace(f"Return-Path: <support@{REPLY_DOMAIN}>".encode(), f"Return-Path: <{notice.mail_from}>".encode())
    send(inbound_smtp, raw, "", f"support@{REPLY_DOMAIN}")
    settle(smtp_rt)
    assert InboundMessage.get().outbox_id == Outbox.get(Outbox.recipient == MARIE).id


def test_a_bounce_scored_while_staff_lift_the_suppression_does_not_undo_the_lift(rt, clock):
    """The score is written only if the row is still as it was read: a lift meanwhile makes it read again."""
    from mailflow import support  # noqa: PLC0415
    from mailflow.clock import naive_utc  # noqa: PLC0415
    from mailflow.inbound import bounces  # noqa: PLC0415
    address = "dead@example.be"
    for _ in range(int(rt.config.bounces.score_threshold)):
        bounces.add_point(rt, address, "5.1.1")
        clock.advance(days=1)
    stale = bounces._suppression(address)  # a worker reads the row…
    seen = (stale.score, stale.last_bounce_at, stale.suppressed_at)
    support.lift_suppression(rt, stale.id, "staff@example.be")  # …staff lift it…
    bounces._scored(rt, stale, naive_utc(rt.now()), "5.1.1")
    assert not bounces._swap(stale, seen)  # …and the worker's write of what it read is refused
    row, newly = bounces.add_point(rt, address, "5.1.1")  # read again: one point on a lifted address
    assert (row.score, newly, row.lifted_at is not None) == (1.0, False, True)


@pytest.mark.parametrize(("status", "diagnostic", "scored"), [
    ("5.1.1", "Address rejected", True),  # the code says the mailbox is unknown, whatever word sits beside it
    ("5.1.2", "Bad destination system address", True),
    ("5.2.1", "The email account that you tried to reach is disabled", True),
    ("4.1.1", "User unknown", False),  # a 4xx is the server saying "later", not "never"
    ("5.7.1", "Message rejected as spam", False),
])
def test_only_a_dead_address_is_scored(smtp_rt, relay, inbound_smtp, notice, status, diagnostic, scored):
    row = bounce(smtp_rt, inbound_smtp, notice, 1, status=status, diagnostic=diagnostic)
    assert row.kind == "bounce" and row.outbox_id == Outbox.get(Outbox.recipient == MARIE).id
    assert Suppression.select().where(Suppression.email == MARIE, Suppression.score > 0).exists() is scored
    assert ("score 1/" in row.action) is scored


def test_a_text_bounce_at_the_support_address_is_matched_by_the_token_its_quoted_original_carries(
        smtp_rt, relay, inbound_smtp, notice):
    raw = f"""\
From: MAILER-DAEMON@mx.client.example
To: support@{REPLY_DOMAIN}
Subject: failure notice

Hi. This is the qmail-send program at mx.client.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{MARIE}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <{notice.mail_from}>
Message-ID: {notice.message["Message-ID"]}
To: {MARIE}
Subject: New invoice
""".encode()
    assert send(inbound_smtp, raw, "", f"support@{REPLY_DOMAIN}").code == 250
    settle(smtp_rt)
    row = InboundMessage.get()
    assert (row.kind, row.outbox_id) == ("bounce", Outbox.get(Outbox.recipient == MARIE).id)
    assert Suppression.get(Suppression.email == MARIE).score == 1
