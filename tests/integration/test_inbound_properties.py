"""Whatever arrives, the whole inbound pipeline (stored, then handled by the worker on the real database) ends
with the message kept and a status, never an exception; and no answer it queues carries a smuggled header."""

from __future__ import annotations

import itertools
import smtplib
from email import message_from_bytes, policy

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from peewee import fn

from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import InboundMessage, Outbox, User
from tests.support import factories
from tests.support.hostile_mail import (
    HUGE_LINE, INJECTIONS, MARIE, SUPPORT, HostileMail, hostile_mails, leaves, text_part,
)
from tests.support.inbound import inbound_smtp  # noqa: F401 (a fixture)

FINAL = ("processed", "staff", "ignored", "failed")
ANSWER_HEADERS = {"from", "to", "reply-to", "subject", "date", "message-id", "auto-submitted", "in-reply-to",
                  "references", "mime-version", "content-type", "content-language", "content-transfer-encoding",
                  "list-unsubscribe", "list-unsubscribe-post"}
PREFIXES = (b"", f"From: {MARIE}\r\nTo: {SUPPORT}\r\n".encode(),
            f"From: {MARIE}\r\nTo: {SUPPORT}\r\nSubject: AIDE\r\n\r\n".encode(),
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n")
SERIALS = itertools.count()  # unique Message-IDs: examples share one database without being taken as resends

# `rt` is function-scoped on purpose: one fresh database per test function, shared by its examples (kept apart
# by unique Message-IDs), because a database per example would cost more than the examples themselves.
PIPELINE = settings(deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture
def addresses(rt) -> dict[str, str]:
    """A registered sender with a document, and the reply and bounce addresses mailflow gave her."""
    factories.customer(rt)
    factories.document(rt)
    rt.config.inbound.answers_per_day = 1_000_000  # every example may be answered: more answers to inspect
    marie, notice = User.get(User.email == MARIE), Outbox.get()
    domain = rt.config.outbound.reply_domain
    return {"support": SUPPORT,
            "reply": f"reply+{rt.reply_token(marie.id, notice.customer_id, 'notice')}@{domain}",
            "bounces": f"bounces+{rt.signer.verp_token(notice.id)}@{domain}"}


def through_pipeline(rt, raw: bytes, envelope_from: str | None = None,
                     envelope_to: tuple[str, ...] | list[str] = (SUPPORT,)) -> list[Outbox]:
    """Store and process `raw`; check it is kept whole with a final status; return the mail it queued."""
    last = Outbox.select(fn.MAX(Outbox.id)).scalar() or 0
    row = store_raw(rt, raw, "smtp", envelope_from, envelope_to)
    InboundWorker(rt).flush()
    row = InboundMessage.get_by_id(row.id)
    assert bytes(row.raw) == raw
    assert row.status in FINAL, row.status
    assert bool(row.error) == (row.status == "failed"), (row.status, row.error)
    return list(Outbox.select().where(Outbox.id > last))


def assert_clean(out: Outbox) -> None:
    """An answer has mailflow's headers only, once each, on one line each, and goes to the registered address."""
    msg = message_from_bytes(bytes(out.raw), policy=policy.default)
    names = [name.lower() for name in msg.keys()]
    assert set(names) <= ANSWER_HEADERS and len(names) == len(set(names)), names
    assert all("\r" not in value and "\n" not in value for value in map(str, msg.values()))
    assert out.recipient == MARIE and not msg.defects


@settings(PIPELINE, max_examples=120)
@given(prefix=st.sampled_from(PREFIXES), tail=st.binary(max_size=2000))
@example(prefix=b"", tail=b"\x00" * 3000)
@example(prefix=b"", tail=HUGE_LINE)
@example(prefix=b"Subject: ", tail=HUGE_LINE + b"\r\nFrom: " + MARIE.encode() + b"\r\n\r\nAIDE\r\n")
@example(prefix=PREFIXES[2], tail=HUGE_LINE)
def test_arbitrary_bytes_are_kept_and_end_with_a_status(rt, addresses, prefix, tail):
    for out in through_pipeline(rt, prefix + tail):
        assert_clean(out)


@settings(PIPELINE, max_examples=150)
@given(mail=hostile_mails())
@example(mail=HostileMail(MARIE, "reply", "Re: facture", "", (), text_part(
    "text/plain", "utf-8", "8bit", b"AIDE\r\n" + HUGE_LINE, False), MARIE))
@example(mail=HostileMail(MARIE, "reply", "Re: facture", "", (), text_part(
    "text/html", "utf-8", "base64", b"<p>AIDE</p>" + HUGE_LINE, False), MARIE))
def test_hostile_mime_trees_and_headers_end_with_a_status_and_clean_answers(rt, addresses, mail):
    raw = mail.raw(next(SERIALS), addresses)
    for out in through_pipeline(rt, raw, mail.envelope_from, mail.envelope_to(addresses)):
        assert_clean(out)


@settings(PIPELINE, max_examples=40)
@given(part=leaves())
def test_a_command_in_any_single_part_from_a_known_sender_is_answered_cleanly(rt, addresses, part):
    mail = HostileMail(MARIE, "reply", "AIDE", "", (), part, MARIE)
    for out in through_pipeline(rt, mail.raw(next(SERIALS), addresses), MARIE, [addresses["reply"]]):
        assert_clean(out)


@pytest.mark.parametrize("injection", INJECTIONS, ids=[repr(i)[:24] for i in INJECTIONS])
def test_injected_subject_message_id_and_name_never_reach_the_answer(rt, addresses, injection):
    body = text_part("text/plain", "utf-8", "8bit", b"AIDE\r\n", False)
    # A raw line break in From starts a new header and leaves no sender to answer; encoded ones stay in the name.
    name = "Marie" + ("" if "\r" in injection or "\n" in injection else injection)
    mail = HostileMail(f"{name} <{MARIE}>", "reply", f"Re: AIDE{injection}", injection, (), body, MARIE)
    serial = next(SERIALS)
    answers = through_pipeline(rt, mail.raw(serial, addresses), MARIE, [addresses["reply"]])
    assert answers, "the help command is answered"
    for out in answers:
        assert_clean(out)
    if not injection:  # a plain Message-ID is echoed, so the answer lands in the sender's thread
        threads = {message_from_bytes(bytes(out.raw), policy=policy.default)["In-Reply-To"] for out in answers}
        assert threads == {f"<hostile-{serial}.@client.example>"}


def test_an_encoded_word_in_the_message_id_is_not_echoed_into_the_answer(rt, addresses):
    """Regression: "=?utf-8?q?hi=0D=0AX-Injected:_yes?=" inside a Message-ID went into the answer's In-Reply-To and
    References, where a reader that decodes encoded words (Python's email among them) saw a line break."""
    body = text_part("text/plain", "utf-8", "8bit", b"AIDE\r\n", False)
    mail = HostileMail(MARIE, "reply", "Re: AIDE", "=?utf-8?q?hi=0D=0AX-Injected:_yes?=", (), body, MARIE)
    [answer] = through_pipeline(rt, mail.raw(next(SERIALS), addresses), MARIE, [addresses["reply"]])
    headers = message_from_bytes(bytes(answer.raw), policy=policy.default)
    assert headers["In-Reply-To"] is None and headers["References"] is None


def test_a_nul_in_the_envelope_or_the_message_id_is_stored_and_the_door_stays_open(rt, addresses, inbound_smtp):
    """Regression: on PostgreSQL a NUL in MAIL FROM or Message-ID made the driver refuse the row with a ValueError
    that killed the SMTP door's writer thread; every later session then waited forever for its answer."""
    nul_id = b"From: x@example.org\r\nMessage-ID: <a\x00b@client.example>\r\n\r\nhello\r\n"
    assert smtp_exchange(inbound_smtp, "odd\x00sender@example.org", SUPPORT, nul_id) == 250
    assert smtp_exchange(inbound_smtp, MARIE, "support\x00@reply.mailflow.example", b"Subject: AIDE\r\n\r\n") == 250
    assert smtp_exchange(inbound_smtp, MARIE, SUPPORT, b"Subject: after\r\n\r\nstill open\r\n") == 250
    InboundWorker(rt).flush()
    rows = list(InboundMessage.select().order_by(InboundMessage.id))
    assert [r.status for r in rows] == ["staff", "staff", "staff"]
    assert (rows[0].envelope_from, rows[0].message_id) == ("oddsender@example.org", "<ab@client.example>")
    assert rows[1].envelope_to == SUPPORT


def smtp_exchange(server, sender: str, recipient: str, raw: bytes) -> int:
    """MAIL, RCPT and DATA written as given (smtplib's mail() would tidy the address first)."""
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.ehlo("client.example")
        assert client.docmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert client.docmd(f"RCPT TO:<{recipient}>")[0] == 250
        return client.data(raw)[0]
