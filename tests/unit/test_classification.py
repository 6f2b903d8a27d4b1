"""Classifying inbound mail: bounces, complaints, auto-replies and people."""

from __future__ import annotations

import pytest

from mailflow.inbound.classification import Classification, MessageKind, classify, verp_token
from mailflow.inbound.parsing import parse_message

POSTFIX_DSN_USER_UNKNOWN = b"""Return-Path: <>
From: MAILER-DAEMON@mx.portal.example.com (Mail Delivery System)
To: bounces+TOKEN123@reply.portal.example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.portal.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@client.example>: host mx.client.example[192.0.2.1] said: 550 5.1.1
    <nobody@client.example>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

--B
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.portal.example.com

Final-Recipient: rfc822; nobody@client.example
Original-Recipient: rfc822;nobody@client.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.client.example
Diagnostic-Code: smtp; 550 5.1.1 <nobody@client.example>: Recipient address
    rejected: User unknown in local recipient table

--B
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-ID: <notice-42@portal.example.com>
From: Portal <noreply@portal.example.com>
To: nobody@client.example
Subject: New invoice

--B--
"""

MAILBOX_FULL_DSN = b"""From: Mail Delivery Subsystem <postmaster@mx.client.example>
To: bounces+tok@reply.portal.example.com
Subject: Delivery Status Notification (Delay)
Content-Type: multipart/report; report-type=delivery-status; boundary="X"

--X
Content-Type: text/plain

Delivery to the following recipient has been delayed:

     full@client.example

Message will be retried for 2 more day(s)

--X
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.client.example

Final-Recipient: rfc822; full@client.example
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full

--X--
"""

ARF_COMPLAINT = b"""From: Feedback Loop <fbl@isp.example>
To: abuse@portal.example.com
Subject: FW: New invoice
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.10.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <bounces+tok@reply.portal.example.com>
Original-Rcpt-To: <Angry@Client.example>
Source-IP: 192.0.2.10

--F
Content-Type: message/rfc822

Message-ID: <notice-77@portal.example.com>
From: Portal <noreply@portal.example.com>
To: angry@client.example
Subject: New invoice

Your invoice is ready.
--F--
"""

QMAIL_FAILURE = b"""Return-Path: <>
From: MAILER-DAEMON@mx.client.example
To: bounces+tok@reply.portal.example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.client.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ghost@client.example>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <bounces+tok@reply.portal.example.com>
Message-ID: <notice-9@portal.example.com>
To: ghost@client.example
Subject: New invoice
"""

OUT_OF_OFFICE = """From: Jean <jean@client.example>
To: reply+abc@reply.portal.example.com
Subject: Absence du bureau : Nouvelle facture
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

Je suis absent jusqu'au 9 novembre.
""".encode()

PERSON = b"""From: Jean <jean@client.example>
To: reply+abc@reply.portal.example.com
Subject: RE: Nouvelle facture disponible
In-Reply-To: <notice-42@portal.example.com>

DUPLICATA F2026-0042
"""


def _classify(raw: bytes, envelope_from: str | None = None) -> Classification:
    return classify(parse_message(raw), envelope_from=envelope_from)


def test_postfix_dsn_for_an_unknown_user_is_a_permanent_bounce() -> None:
    found = _classify(POSTFIX_DSN_USER_UNKNOWN, envelope_from="")
    assert found.kind == "bounce"
    assert found.bounce is not None
    assert found.bounce.recipients == ["nobody@client.example"]
    assert found.bounce.permanent is True
    assert found.bounce.status == "5.1.1"
    assert found.bounce.diagnostic is not None and "User unknown" in found.bounce.diagnostic
    assert found.reason == "user_unknown"
    assert found.original_message_id == "notice-42@portal.example.com"


def test_a_dsn_with_a_null_sender_and_auto_submitted_is_still_a_bounce() -> None:
    assert _classify(POSTFIX_DSN_USER_UNKNOWN, envelope_from="").kind == "bounce"


def test_mailbox_full_delay_is_a_temporary_bounce() -> None:
    found = _classify(MAILBOX_FULL_DSN, envelope_from="")
    assert found.kind == "bounce"
    assert found.bounce is not None
    assert found.bounce.permanent is False
    assert found.bounce.status == "4.2.2"
    assert found.bounce.action == "delayed"
    assert found.bounce.recipients == ["full@client.example"]
    assert found.reason == "mailbox_full"


def test_spam_refusal_with_a_5xx_status_is_not_permanent() -> None:
    raw = MAILBOX_FULL_DSN.replace(b"Action: delayed", b"Action: failed").replace(
        b"452 4.2.2 Mailbox full", b"550 5.7.1 Message rejected as spam by Content Filtering"
    ).replace(b"Status: 4.2.2", b"Status: 5.7.1")
    found = _classify(raw, envelope_from="")
    assert found.kind == "bounce" and found.bounce is not None
    assert found.bounce.status == "5.7.1"
    assert found.bounce.permanent is False


def test_non_standard_qmail_bounce() -> None:
    found = _classify(QMAIL_FAILURE, envelope_from="")
    assert found.kind == "bounce"
    assert found.bounce is not None
    assert found.bounce.recipients == ["ghost@client.example"]
    assert found.bounce.status == "5.1.1"
    assert found.bounce.permanent is True


def test_exim_bounce_names_its_recipient_in_a_header() -> None:
    raw = b"""From: Mail Delivery System <Mailer-Daemon@mx.portal.example.com>
To: bounces+tok@reply.portal.example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: gone@client.example

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@client.example
    host mx.client.example [192.0.2.3]
    SMTP error from remote mail server after RCPT TO:<gone@client.example>:
    550 5.1.1 <gone@client.example>: Recipient address rejected: User unknown
"""
    found = _classify(raw)
    assert found.kind == "bounce" and found.bounce is not None
    assert found.bounce.recipients == ["gone@client.example"]
    assert (found.bounce.status, found.bounce.permanent) == ("5.1.1", True)


def test_arf_complaint() -> None:
    found = _classify(ARF_COMPLAINT)
    assert found.kind == "complaint"
    assert found.bounce is None
    assert found.recipients == ["angry@client.example"]
    assert found.original_message_id == "notice-77@portal.example.com"


def test_out_of_office_with_auto_submitted() -> None:
    found = _classify(OUT_OF_OFFICE)
    assert found.kind == "auto_reply"
    assert found.reason == "auto-submitted"


@pytest.mark.parametrize(
    "subject",
    ["Réponse automatique : Nouvelle facture", "Automatisch antwoord: Nieuwe factuur", "Afwezig: factuur",
     "Automatic reply: New invoice", "Out of Office: New invoice", "Abwesenheitsnotiz: Rechnung",
     "Automatische Antwort: Rechnung", "RE: Absence du bureau", "Auto reply: x"],
)
def test_localized_auto_reply_subjects_alone(subject: str) -> None:
    raw = f"From: x@client.example\nSubject: {subject}\nContent-Type: text/plain; charset=utf-8\n\nI am away.\n".encode()
    found = _classify(raw)
    assert found.kind == "auto_reply"
    assert found.reason == "subject"


@pytest.mark.parametrize(
    "header",
    ["Precedence: bulk", "Precedence: list", "Precedence: junk", "X-Autoreply: yes", "X-Autorespond: vacation",
     "X-Auto-Response-Suppress: OOF", "X-Auto-Response-Suppress: DR, AutoReply", "Auto-Submitted: auto-generated"],
)
def test_rfc3834_headers(header: str) -> None:
    raw = f"From: x@client.example\nSubject: hello\n{header}\n\nbody\n".encode()
    assert _classify(raw).kind == "auto_reply"


def test_auto_submitted_no_is_a_person() -> None:
    raw = b"From: x@client.example\nSubject: hello\nAuto-Submitted: no\n\nSTOP\n"
    assert _classify(raw).kind == "message"


def test_null_sender_without_a_report_is_automatic() -> None:
    found = _classify(PERSON, envelope_from="")
    assert (found.kind, found.reason) == ("auto_reply", "null_sender")


def test_a_person_writing() -> None:
    found = _classify(PERSON, envelope_from="jean@client.example")
    assert (found.kind, found.reason, found.bounce) == ("message", "person", None)


def test_a_person_whose_reply_says_not_delivered_is_not_a_bounce() -> None:
    raw = PERSON.replace(b"Subject: RE: Nouvelle facture disponible", b"Subject: Re: Invoice not delivered").replace(
        b"DUPLICATA F2026-0042", b"The invoice could not be delivered to our accounting, please resend."
    )
    assert _classify(raw, envelope_from="jean@client.example").kind == "message"


def test_a_bounce_forwarded_as_an_attachment_is_a_person_asking() -> None:
    raw = (
        b"From: Jean <jean@client.example>\nSubject: Fwd: Undelivered Mail Returned to Sender\n"
        b'Content-Type: multipart/mixed; boundary="M"\n\n--M\nContent-Type: text/plain\n\nWhat is this?\n'
        b"--M\nContent-Type: message/rfc822\n\n" + POSTFIX_DSN_USER_UNKNOWN.replace(b"\n--B--\n", b"\n--B--\n") + b"\n--M--\n"
    )
    assert _classify(raw, envelope_from="jean@client.example").kind == "message"


def test_garbage_never_raises() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"Content-Type: multipart/report; report-type=delivery-status\n\n--"):
        assert _classify(raw, envelope_from="").kind in {"bounce", "complaint", "auto_reply", "message"}


@pytest.mark.parametrize(
    ("address", "token"),
    [
        ("bounces+TOKEN123@reply.example.com", "TOKEN123"),
        ("BOUNCES+abc.def-1@Reply.Example.com", "abc.def-1"),
        ("<bounces+xyz@reply.example.com>", "xyz"),
        ("Mailer <bounces+a+b@reply.example.com>", "a+b"),
        ("bounces@reply.example.com", None),
        ("bounces+@reply.example.com", None),
        ("reply+abc@reply.example.com", None),
        ("", None),
        ("not an address", None),
    ],
)
def test_verp_token(address: str, token: str | None) -> None:
    assert verp_token(address) == token


def test_verp_token_with_another_prefix() -> None:
    assert verp_token("reply+abc@reply.example.com", prefix="reply") == "abc"


TWO_RECIPIENTS = b"""From: MAILER-DAEMON@mx.portal.example.com
To: bounces+abcdefgh@reply.portal.example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.portal.example.com

Final-Recipient: rfc822; full@client.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

Final-Recipient: rfc822; gone@client.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--B
Content-Type: message/rfc822

Return-Path: <bounces+qrstuvwx@reply.portal.example.com>
Message-ID: <notice-7@portal.example.com>
To: full@client.example, gone@client.example

Hello
--B--
"""


def test_each_recipient_of_a_report_has_its_own_outcome() -> None:
    bounce = _classify(TWO_RECIPIENTS, envelope_from="").bounce
    assert bounce is not None and bounce.recipients == ["full@client.example", "gone@client.example"]
    assert [(o.address, o.cause, o.permanent) for o in bounce.outcomes] == [
        ("full@client.example", "mailbox_full", False), ("gone@client.example", "user_unknown", True)]
    assert bounce.permanent and bounce.status == "5.1.1"  # summed up by the worst: the dead address
    assert bounce.outcome_for("FULL@client.example").permanent is False
    assert bounce.outcome_for("forwarded@elsewhere.example") == bounce.worst


def test_verp_tokens_come_from_the_envelope_first_then_headers_then_the_returned_original() -> None:
    found = classify(parse_message(TWO_RECIPIENTS), "", ["bounces+mnopqrst@reply.portal.example.com"])
    assert found.bounce is not None
    assert found.bounce.verp_tokens == ("mnopqrst", "abcdefgh", "qrstuvwx")
    assert found.original_message_id == "notice-7@portal.example.com"


def test_a_text_bounce_names_the_token_its_quoted_original_carries() -> None:
    found = _classify(QMAIL_FAILURE.replace(b"bounces+tok@", b"bounces+abc234@"), envelope_from="")
    assert found.bounce is not None and "abc234" in found.bounce.verp_tokens


def test_a_complaint_carries_the_reported_mail() -> None:
    raw = ARF_COMPLAINT.replace(b"bounces+tok@", b"bounces+arfabc@")
    found = _classify(raw)
    assert found.kind is MessageKind.COMPLAINT and found.bounce is None
    assert found.event is not None and found.event.verp_tokens == ("arfabc",)


def test_the_status_is_kept_as_reported() -> None:
    raw = MAILBOX_FULL_DSN.replace(b"Status: 4.2.2", b"Status: 5.2.2").replace(b"452 4.2.2", b"552 5.2.2")
    bounce = _classify(raw, envelope_from="").bounce
    assert bounce is not None and (bounce.status, bounce.action, bounce.status_class) == ("5.2.2", "delayed", "4")


def test_kinds_are_str_enums_with_the_stored_values() -> None:
    assert [k.value for k in MessageKind] == ["bounce", "complaint", "auto_reply", "message", "command"]
    assert _classify(PERSON, envelope_from="jean@client.example").kind == "message"


# A relay's DSN passed on as plain text by the provider in front of it: its fields come after the
# returned-original cut (the embedded Return-Path), and are the report's own code and action.
RELAYED_DSN_AS_TEXT = b"""Return-Path: <>
From: MAILER-DAEMON@mx.isp.example
To: bounces+tok@reply.portal.example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that the message returned
below could not be delivered to one or more destinations.

---------------------------------
Return-Path: <>
From: MAILER-DAEMON@relay.isp.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender

<late@client.example>: delivery temporarily suspended: connect to
    mx.client.example[192.0.2.7]: server refused to talk to me: 421 Try later

Final-Recipient: rfc822; late@client.example
Action: failed
Status: 4.0.0
Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect to
    mx.client.example[192.0.2.7]: server refused to talk to me: 421 Try later
"""


def test_dsn_fields_written_in_a_text_report_give_its_status() -> None:
    bounce = _classify(RELAYED_DSN_AS_TEXT, envelope_from="").bounce
    assert bounce is not None
    assert (bounce.status, bounce.action, bounce.status_class, bounce.permanent) == ("4.0.0", "failed", "4", False)
    assert bounce.diagnostic is not None and bounce.diagnostic.startswith("X-Postfix; delivery temporarily")
