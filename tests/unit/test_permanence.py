"""Permanence by meaning: a failure proves the address dead only when its code or words are about the address."""

from __future__ import annotations

import pytest

from mailflow.inbound.permanence import Cause, judge, status_class


@pytest.mark.parametrize(("status", "diagnostic", "cause"), [
    # The plain misses: the code says it, whatever vague word sits beside it.
    ("5.1.1", "550 5.1.1 Address rejected", Cause.USER_UNKNOWN),
    ("5.1.2", "550 5.1.2 <x@nowhere.example>... Bad destination system address", Cause.HOST_UNKNOWN),
    ("5.0.0", "550 <x@client.example>: Recipient address rejected: User unknown in local recipient table",
     Cause.USER_UNKNOWN),  # Postfix
    ("5.0.0", "550 Unrouteable address", Cause.USER_UNKNOWN),  # Exim
    ("5.1.1", "Sorry, no mailbox here by that name. (#5.1.1)", Cause.USER_UNKNOWN),  # qmail
    ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     Cause.USER_UNKNOWN),  # Office 365
    ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", Cause.USER_UNKNOWN),
    ("5.1.1", "550-5.1.1 The email account that you tried to reach does not exist.", Cause.USER_UNKNOWN),  # Gmail
    ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled.", Cause.MAILBOX_DISABLED),
    ("5.4.4", "Host or domain name not found. Name service error for name=nowhere.example type=MX: Host not found",
     Cause.HOST_UNKNOWN),
    ("5.1.10", "556 5.1.10 Recipient address has null MX", Cause.NO_MAIL_DOMAIN),
    ("5.1.6", "550 5.1.6 Recipient has moved", Cause.HAS_MOVED),
    ("5.0.0", "550 Utilisateur inconnu", Cause.USER_UNKNOWN),
    ("5.0.0", "550 Empfänger unbekannt", Cause.USER_UNKNOWN),
])
def test_a_dead_address_is_permanent(status: str, diagnostic: str, cause: Cause) -> None:
    verdict = judge(status, "failed", diagnostic)
    assert (verdict.cause, verdict.permanent) == (cause, True)


@pytest.mark.parametrize(("status", "diagnostic", "cause"), [
    ("5.2.2", "552 5.2.2 Mailbox full", Cause.MAILBOX_FULL),
    ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", Cause.SPAM),
    ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", Cause.TOO_BIG),
    ("5.7.26", "550 5.7.26 Unauthenticated email is not accepted due to the sender's domain's DMARC policy",
     Cause.AUTH),
    ("5.7.1", "554 5.7.1 <x@client.example>: Relay access denied", Cause.BLOCKED),
    ("5.1.8", "553 5.1.8 <bounces@portal.example>: Sender address rejected: Domain not found",
     Cause.SENDER_REJECTED),  # "Domain not found", but the sender's
    ("5.2.1", "550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
              "additional messages from being delivered", Cause.RATE_LIMITED),
    ("5.4.4", "Name service error for name=client.example type=MX: Malformed or unexpected name server reply",
     Cause.NETWORK),
    (None, "Name service error for domain client.example: Host not found, try again", Cause.NETWORK),
    ("5.7.1", "550 5.7.1 Refused due to recipient preferences", Cause.BLOCKED),
])
def test_a_refusal_that_may_pass_is_not_permanent(status: str | None, diagnostic: str, cause: Cause) -> None:
    verdict = judge(status, "failed", diagnostic)
    assert (verdict.cause, verdict.permanent) == (cause, False)


def test_a_temporary_failure_is_never_permanent_whatever_it_says() -> None:
    assert judge("4.1.1", "failed", "450 4.1.1 <x@client.example>: User unknown").permanent is False
    assert judge("5.1.1", "delayed", "550 5.1.1 User unknown").permanent is False
    assert judge(None, None, "421 closing channel", reply_code="421").rule == "temporary (class 4)"


def test_the_stage_of_the_refusal_counts() -> None:
    after_data = "550 5.0.0 User unknown (in reply to end of DATA command)"
    assert (judge("5.0.0", "failed", after_data).cause, judge("5.0.0", "failed", after_data).permanent) == (
        Cause.FILTERED, False)
    # An X.1.x code is about the address even after DATA.
    assert judge("5.1.1", "failed", "550 5.1.1 User unknown (in reply to end of DATA command)").permanent is True
    # Before RCPT TO the server had not heard of the recipient.
    sender = "550 5.1.0 <bounces@portal.example> rejected (in reply to MAIL FROM command)"
    assert judge("5.1.0", "failed", sender).permanent is False
    # Sendmail's transcript shows ">>> DATA" before RCPT replies when it pipelines: no proof of after-DATA.
    pipelined = "... while talking to mx.client.example.: >>> DATA <<< 550 5.1.1 <x@client.example>... User unknown"
    assert judge("5.1.1", "failed", None, pipelined).permanent is True


def test_an_x_2_code_says_the_mailbox_exists() -> None:
    # Japanese mobile carriers answer "Unknown user" to senders their customer filters out.
    verdict = judge("5.2.0", "failed", "550 Unknown user x@ezweb.example")
    assert (verdict.cause, verdict.permanent) == (Cause.FILTERED, False)


def test_specific_words_beat_the_code_and_the_code_beats_vague_words() -> None:
    assert judge("5.1.1", "failed", "550 5.1.1 Mailbox full").cause is Cause.MAILBOX_FULL
    assert judge("5.1.1", "failed", "550 5.1.1 rejected by policy").cause is Cause.USER_UNKNOWN
    assert judge("5.7.1", "failed", "554 Service unavailable; rejected").cause is Cause.BLOCKED


def test_the_report_text_speaks_when_the_server_said_nothing_specific() -> None:
    verdict = judge("5.0.0", "failed", "554 Service unavailable", "mail.local: unknown user: jan")
    assert (verdict.cause, verdict.permanent, verdict.rule) == (Cause.USER_UNKNOWN, True, "report text: user_unknown")
    assert judge(None, "failed", None).rule == "no cause found"


def test_each_verdict_names_its_rule() -> None:
    assert judge("5.1.1", "failed", "550 5.1.1 Address rejected").rule == "status X.1.1"
    assert judge("5.0.0", "failed", "550 No such user here").rule == "text: user_unknown"
    assert judge("2.0.0", "delivered", "250 OK").rule == "delivered"


@pytest.mark.parametrize(("status", "action", "reply", "words", "klass"), [
    ("5.1.1", None, None, "", "5"),
    (None, None, "452", "", "4"),
    (None, "delayed", None, "", "4"),
    ("4.4.7", "failed", None, "", "4"),  # given up after temporary failures: the address is not proven dead
    (None, "relayed", None, "", "2"),
    (None, None, None, "This is a temporary failure; I will retry", "4"),
    (None, None, None, "This is a permanent error; I've given up", "5"),
    (None, "failed", None, "temporary failure", "5"),
])
def test_status_class(status: str | None, action: str | None, reply: str | None, words: str, klass: str) -> None:
    assert status_class(status, action, reply, words) == klass


@pytest.mark.parametrize(("status", "diagnostic", "cause"), [
    # Unknown domain, as the MTAs' own sources word it.
    (None, "The mail server could not deliver mail to x@nowhere.example. The account or domain may not exist, "
           "they may be blacklisted, or missing the proper dns entries.", Cause.HOST_UNKNOWN),  # cPanel Exim
    (None, "all host address lookups failed permanently", Cause.HOST_UNKNOWN),  # Exim
    ("5.0.0", "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", Cause.HOST_UNKNOWN),  # qmail
    ("5.0.0", "553 We weren't able to find the recipient domain.", Cause.HOST_UNKNOWN),  # Gmail
    ("5.0.0", "Illegal host/domain name found", Cause.HOST_UNKNOWN),  # Oracle Messaging Server
    ("5.0.0", "The domain name in the e-mail address is incorrect. Check the address.", Cause.HOST_UNKNOWN),
    # Unknown mailbox, in the wordings of smaller MTAs and providers.
    ("5.0.0", "550 <x@client.example>... User not exist", Cause.USER_UNKNOWN),
    ("5.0.0", "550 <x@client.example>: Recipient address rejected: userunknown", Cause.USER_UNKNOWN),
    ("5.0.0", "550 unknown or illegal user: x@client.example", Cause.USER_UNKNOWN),
    ("5.0.0", "550 x@client.example: mailbox invalid", Cause.USER_UNKNOWN),
    ("5.0.0", "550 The intended recipient is not a valid Client Email account", Cause.USER_UNKNOWN),
    ("5.0.0", "550 Sorry, this recipient is in my badrecipientto list", Cause.USER_UNKNOWN),
    ("5.0.0", "550 Requested action not taken: mailbox is unavailable", Cause.USER_UNKNOWN),
    # Disabled or closed for good.
    ("5.0.0", "550 Mailbox currently suspended", Cause.MAILBOX_DISABLED),
    ("5.0.0", "550 5.1.1 <x@client.example>: inactive email address", Cause.MAILBOX_DISABLED),
    ("5.0.0", "550 Account closed due to inactivity", Cause.MAILBOX_DISABLED),
    ("5.0.0", "550 Mailaddress is administratively disabled", Cause.MAILBOX_DISABLED),
    ("5.0.0", "550 5.5.0 Boite du destinataire archivee. Archived recipient.", Cause.MAILBOX_DISABLED),
    ("5.0.0", "550 recipient no longer on server: x@client.example", Cause.HAS_MOVED),
])
def test_more_wordings_of_a_dead_address(status: str | None, diagnostic: str, cause: Cause) -> None:
    verdict = judge(status, "failed", diagnostic)
    assert (verdict.cause, verdict.permanent) == (cause, True)


@pytest.mark.parametrize(("diagnostic", "cause"), [
    # About the sender, though the words look like the recipient's.
    ("550 This server does not accept mail from bad.example", None),
    ("553 From: domain is invalid. Please provide a valid From:", Cause.SENDER_REJECTED),
    ("554 Error: no valid recipients from 192.0.2.1", None),
    # Held back for a while, not closed.
    ("550 Account disabled temporarily for exceeding receiving limits", None),
    ("550 5.1.1 Mailbox temporarily disabled", None),
])
def test_look_alikes_of_a_dead_address_are_not_permanent(diagnostic: str, cause: Cause | None) -> None:
    verdict = judge("5.0.0", "failed", diagnostic)
    assert (verdict.cause, verdict.permanent) == (cause, False)


@pytest.mark.parametrize("diagnostic", [
    'x-unix; procmail: Couldn\'t create "/var/spool/mail/jan": No such user',  # Diagnostic-Code type x-unix
    "user unknown. Command output: /usr/local/bin/deliver: no such user",  # Postfix pipe(8)
    "Child process of local_pipe transport returned 67 (could mean unknown user) from command",  # Exim
])
def test_a_local_delivery_program_failing_is_a_mailer_error_not_a_dead_address(diagnostic: str) -> None:
    verdict = judge("5.1.1", "failed", diagnostic)
    assert (verdict.cause, verdict.permanent, verdict.rule) == (Cause.MAILER, False, "local delivery program")


def test_a_local_delivery_program_may_still_name_a_full_mailbox() -> None:
    assert judge("5.2.2", "failed", "x-unix; procmail: Quota exceeded while writing").cause is Cause.MAILBOX_FULL
