"""delivery: mails per second that `mailflow serve --role worker` (its own process) hands to a local aiosmtpd
sink, against a bare smtplib loop that DKIM-signs the same bytes as the worker does (same signer, same key;
signing is on by default) and sends them to the same sink.

Both rates are taken by the sink, from its first mail to its last, so the worker's wakeup (measured by
`latency`) is not in them; every mail is counted, at the sink and in the outbox.
"""

from __future__ import annotations

import smtplib
from statistics import median

from benchmarks.common import Result, free_port, scratch_config, scratch_folder, serve, sink_server
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.dkim import DkimSigner, KeyStore
from mailflow.outbound.composer import Envelope, compose, new_message_id
from mailflow.outbound.renderer import Rendered
from mailflow.runtime import Runtime, open_runtime

WARM_UP = 50


def sample_mail(rt: Runtime, n: int) -> bytes:
    rendered = Rendered(f"Nouvelle facture F2026-{n:05d} disponible", "Bonjour,\n" * 40, "<p>Bonjour</p>" * 400)
    envelope = Envelope(f"user{n}@example.be", "User", "fr", rt.reply_token(n, 1, "notice"))
    return compose(rt.sender, envelope, rendered, new_message_id("bench.example"), rt.now())


def mails(rt: Runtime, count: int, start: int) -> list[bytes]:
    return [sample_mail(rt, n) for n in range(start, start + count)]


def enqueue(rt: Runtime, raws: list[bytes], start: int) -> None:
    """One transaction: its commit wakes the worker, which finds every mail due at once."""
    with rt.db.atomic():
        for n, raw in enumerate(raws, start):
            outbox.enqueue(outbox.Mail(f"<{n}@bench>", raw, f"user{n}@example.be", "s", "notice"), rt.now())


def bare_smtplib(signer: DkimSigner, port: int, raws: list[bytes], start: int) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n, raw in enumerate(raws, start):
            client.sendmail("bounces@bench.example", [f"user{n}@example.be"], signer.sign(raw))


def run(quick: bool) -> list[Result]:
    rounds, count = (3, 100) if quick else (5, 1000)
    port, rates = free_port(), {"bare": [], "mailflow": []}
    with scratch_folder() as folder, sink_server(port) as sink:
        rt = open_runtime(scratch_config(folder))
        KeyStore(rt.config).ensure(rt.now())  # as `mailflow init` does before a first `serve`
        with serve(folder, ("worker",), outbound_transport="smtp", outbound_smtp_port=port) as worker:
            signer = DkimSigner(KeyStore(rt.config))  # the keys `serve` signs with
            probe = b"From: " + rt.config.outbound.from_address.encode() + b"\r\n\r\nx"
            assert signer.sign(probe).startswith(b"DKIM-Signature"), "no DKIM key: the baseline would not sign"
            for done in range(rounds + 1):  # the first round warms both up: not counted
                size, start = (WARM_UP, 0) if done == 0 else (count, WARM_UP + (done - 1) * count)
                raws = mails(rt, size, start)
                for side in ("bare", "mailflow"):  # alternating, so that a slower spell hits both alike
                    sink.reset()
                    if side == "bare":
                        bare_smtplib(signer, port, raws, start)
                    else:
                        enqueue(rt, raws, start)
                    sink.wait_for(size)
                    if done:
                        rates[side].append(sink.rate())
        sent = Outbox.select().where(Outbox.status == "sent").count()
        rt.close()
    total = WARM_UP + rounds * count
    assert sent == total and sink.total.value == 2 * total, f"sent {sent} of {total}, sink {sink.total.value}"
    ratios = [ours / theirs for ours, theirs in zip(rates["mailflow"], rates["bare"])]
    return [Result("delivery", median(rates["mailflow"]), "mails/s", median(rates["bare"]), "≥ 0.8×",
                   f"serve --role worker, both DKIM-signing; median of {rounds} alternating rounds of {count} mails, "
                   f"batch 100; "
                   f"ratio per round {min(ratios):.2f}–{max(ratios):.2f}")]
