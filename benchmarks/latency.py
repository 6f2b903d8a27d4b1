"""latency: how long people wait, with `mailflow serve` (all roles, its own process) and a local relay.

- reply → answer: from the door's 250 for a reply to the relay receiving mailflow's answer to it;
- `document add` → notice: from the CLI command returning (another process) to the relay receiving the
  notice it caused.

One at a time, so each figure is a wait on an idle server, not a queue; p50 and p95 of each.
"""

from __future__ import annotations

import math
import smtplib
import statistics
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller

from benchmarks.common import PG_SERVER, Result, free_port, mailflow, scratch_config, scratch_folder, serve, serve_env
from mailflow import accounts
from mailflow.accounts import Person
from mailflow.clock import naive_utc
from mailflow.models import InboundMessage, Outbox
from mailflow.pdf import simple_pdf
from mailflow.runtime import open_runtime

CUSTOMER = "DL2123456"
EMAIL = "marie.dupont@example.be"
TARGET_MS = 300


@dataclass
class Arrivals:
    """The test relay's handler: when each mail arrived, by what it answers (In-Reply-To) or its subject."""

    seen: dict[str, float] = field(default_factory=dict)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:
        now = time.perf_counter()
        message = message_from_bytes(envelope.original_content or b"")
        with self.arrived:
            self.seen[str(message["In-Reply-To"] or message["Subject"])] = now
            self.arrived.notify_all()
        return "250 OK"

    def wait(self, key: str, seconds: float = 30) -> float:
        """When the mail keyed `key` arrived; fails the run when it does not within `seconds`."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: key in self.seen, seconds), f"no mail for {key} in {seconds} s"
            return self.seen[key]


def reply(token: str, n: int) -> tuple[str, bytes]:
    message_id = f"<latency-{n}-{time.time_ns()}@client.example>"
    return message_id, (f"From: {EMAIL}\r\nTo: reply+{token}@reply.mailflow.example\r\nSubject: Re: facture\r\n"
                        f"Message-ID: {message_id}\r\n\r\nHELP\r\n").encode()


def replies(port: int, token: str, arrivals: Arrivals, count: int) -> list[float]:
    """The first answer is not counted: it compiles its templates (MJML), once per process."""
    waits = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for n in range(count + 1):
            message_id, raw = reply(token, n)
            client.sendmail(EMAIL, [f"reply+{token}@reply.mailflow.example"], raw)
            stored = time.perf_counter()  # the 250: the message is committed
            waits.append((arrivals.wait(message_id) - stored) * 1000)
            time.sleep(0.05)
    return waits[1:]


def notices(folder: Path, env: dict[str, str], arrivals: Arrivals, count: int) -> list[float]:
    pdf = folder / "invoice.pdf"
    pdf.write_bytes(simple_pdf("latency"))
    waits = []
    for n in range(count + 1):  # the first compiles the notice's templates: not counted
        number = f"L2026-{n:04d}-{time.time_ns() % 10**9}"
        mailflow(["document", "add", CUSTOMER, "--number", number, "--type", "invoice", "--date", "2026-11-02",
                  "--amount", "12.34", "--pdf", str(pdf)], env)
        returned = time.perf_counter()
        waits.append((arrivals.wait(_subject_key(arrivals, number)) - returned) * 1000)
    return waits[1:]


def _subject_key(arrivals: Arrivals, number: str) -> str:
    """The notice is keyed by its subject, which names the document's number."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with arrivals.arrived:
            found = [key for key in arrivals.seen if number in key]
            if found:
                return found[0]
            arrivals.arrived.wait(0.5)
    raise AssertionError(f"no notice for {number} within 30 s")


def prepare(folder: Path) -> str:
    """Marie, primary contact of DL2123456 (told at once, already activated), and a reply token of hers."""
    rt = open_runtime(scratch_config(folder))
    try:
        customer = accounts.add_customer(rt, CUSTOMER, "Garage Dupont SRL", Person(EMAIL, "Marie", "Dupont", "fr"))
        customer.primary_user.activated_at = naive_utc(rt.now())
        customer.primary_user.save()
        return rt.reply_token(customer.primary_user.id, customer.id, "notice")
    finally:
        rt.close()


def run(quick: bool) -> list[Result]:
    count = 10 if quick else 40
    arrivals, relay_port = Arrivals(), free_port()
    relay = Controller(arrivals, hostname="127.0.0.1", port=relay_port)
    relay.start()
    try:
        with scratch_folder() as folder:
            token = prepare(folder)
            settings = {"outbound_transport": "smtp", "outbound_smtp_port": relay_port,
                        "inbound_answers_per_day": 100_000}
            with serve(folder, **settings) as server:
                answer = replies(server.port, token, arrivals, count)
                notice = notices(folder, serve_env(folder, **settings), arrivals, count // 2)
            steps = breakdown(folder)
    finally:
        relay.stop()
    return [_result("latency reply → answer", answer, steps), _result("latency document add → notice", notice)]


def breakdown(folder: Path) -> str:
    """Where a reply's wait goes, from the rows' own timestamps: stored → processed (waiting for the worker,
    then reading and acting), then the answer queued → handed to the relay."""
    rt = open_runtime(scratch_config(folder), migrate=False)
    try:
        rows = (InboundMessage.select(InboundMessage.received_at, InboundMessage.processed_at, Outbox.created_at,
                                      Outbox.sent_at)
                .join(Outbox, on=InboundMessage.outbox == Outbox.id)
                .where(InboundMessage.message_id ** "<latency-%").tuples())
        stored = [(processed - received).total_seconds() * 1000 for received, processed, _, _ in rows]
        queued = [(sent - created).total_seconds() * 1000 for _, _, created, sent in rows]
    finally:
        rt.close()
    return f"of which stored → processed p50 {statistics.median(stored):.0f} ms, queued → sent p50 " \
           f"{statistics.median(queued):.0f} ms"


def _result(name: str, waits: list[float], steps: str = "") -> Result:
    """Nearest-rank percentiles; a wait under 0 is a mail that reached the relay before the command that caused
    it had returned (its process still exiting): it counts as 0."""
    early = sum(wait < 0 for wait in waits)
    waits = sorted(max(0.0, wait) for wait in waits)
    p95 = waits[math.ceil(0.95 * len(waits)) - 1]
    before = f"; {early} arrived before the command returned" if early else ""
    return Result(name, p95, "ms p95", 0.0, f"≤ {TARGET_MS} ms",
                  f"p50 {statistics.median(waits):.0f} ms, max {waits[-1]:.0f} ms over {len(waits)}, one at a time"
                  f"{before}; serve on {'PostgreSQL' if PG_SERVER else 'SQLite'} with a local relay"
                  + (f"; {steps}" if steps else ""))
