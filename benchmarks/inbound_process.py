"""inbound_process: stored replies classified and acted on per second, against email.message_from_bytes alone."""

from __future__ import annotations

import email
import time

from benchmarks.common import Result, Timer, scratch_runtime
from mailflow import accounts
from mailflow.accounts import Person
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import Customer, InboundMessage, User

KINDS = ("WEEKLY", "HELP", "Bonjour, une question sur ma facture.", "out-of-office", "bounce")


def people(rt, count: int) -> list[tuple[User, Customer]]:
    pairs = []
    with rt.db.atomic():
        for n in range(count):
            customer = accounts.add_customer(rt, f"DL2{n:06d}", f"Company {n}",
                                             Person(f"user{n}@example.be", "User", f"{n}", "fr"))
            pairs.append((customer.primary_user, customer))
    return pairs


def reply(rt, n: int, user: User, customer: Customer) -> bytes:
    token = rt.reply_token(user.id, customer.id, "notice")
    kind = KINDS[n % len(KINDS)]
    headers = f"From: {user.email}\r\nTo: reply+{token}@{rt.config.outbound.reply_domain}\r\n"
    headers += f"Message-ID: <r{n}@example.be>\r\nSubject: RE: Nouvelle facture\r\n"
    if kind == "out-of-office":
        return (headers + "Auto-Submitted: auto-replied\r\n\r\nJe suis absente.\r\n").encode()
    if kind == "bounce":
        return (f"From: MAILER-DAEMON@mx.example\r\nTo: bounces+x@{rt.config.outbound.reply_domain}\r\n"
                f"Message-ID: <b{n}@mx>\r\nSubject: Undelivered Mail Returned to Sender\r\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\n"
                "Content-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n--B\r\n"
                "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
                f"Final-Recipient: rfc822; {user.email}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n").encode()
    quoted = "".join(f"> line {i} of the original notification\r\n" for i in range(30))
    return (headers + f"\r\n{kind}\r\n\r\nLe lun. 2 nov. 2026 a 10:00, mailflow a ecrit :\r\n{quoted}").encode()


def run(quick: bool) -> list[Result]:
    count = 300 if quick else 3000
    with scratch_runtime() as rt:
        pairs = people(rt, 50)
        raws = [reply(rt, n, *pairs[n % len(pairs)]) for n in range(count)]
        with rt.db.atomic():
            for raw in raws:
                store_raw(rt, raw, "smtp", "someone@example.be", [])
        with Timer() as baseline:
            for raw in raws:
                email.message_from_bytes(raw)
        cpu = time.process_time()
        with Timer() as timer:
            outcome = InboundWorker(rt).flush()
        cpu = (time.process_time() - cpu) / count
        assert sum(outcome.values()) == count, outcome
        assert not InboundMessage.select().where(InboundMessage.status == "failed").exists()
    return [Result("inbound_process", count / timer.seconds, "msgs/s", count / baseline.seconds, "report",
                   f"{count} stored replies: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.items()))
                   + f"; CPU {cpu * 1e3:.2f} ms a message")]
