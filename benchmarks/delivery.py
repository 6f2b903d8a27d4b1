"""delivery: outbox rows delivered per second to a local aiosmtpd sink, against a bare smtplib loop."""

from __future__ import annotations

import smtplib
from statistics import median

from benchmarks.common import Result, Timer, free_port, scratch_runtime, sink_server
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.composer import Envelope, compose, new_message_id
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.outbound.renderer import Rendered


def sample_mail(rt, n: int) -> bytes:
    rendered = Rendered(f"Nouvelle facture F2026-{n:05d} disponible", "Bonjour,\n" * 40, "<p>Bonjour</p>" * 400)
    envelope = Envelope(f"user{n}@example.be", "User", "fr", rt.reply_token(n, 1, "notice"))
    return compose(rt.sender, envelope, rendered, new_message_id("bench.example"), rt.now())


def enqueue(rt, count: int, start: int = 0) -> list[bytes]:
    raws = [sample_mail(rt, n) for n in range(start, start + count)]
    with rt.db.atomic():
        for n, raw in enumerate(raws, start):
            outbox.enqueue(outbox.Mail(f"<{n}@bench>", raw, f"user{n}@example.be", "s", "notice"), rt.now())
    return raws


def bare_smtplib(port: int, raws: list[bytes]) -> float:
    with Timer() as timer, smtplib.SMTP("127.0.0.1", port) as client:
        for n, raw in enumerate(raws):
            client.sendmail("bounces@bench.example", [f"user{n}@example.be"], raw)
    return len(raws) / timer.seconds


def run(quick: bool) -> list[Result]:
    rounds, count = (3, 200) if quick else (5, 1000)
    port = free_port()
    rates: dict[str, list[float]] = {"bare": [], "mailflow": []}
    with scratch_runtime() as rt, sink_server(port) as sink:
        rt.config.outbound.transport, rt.config.outbound.smtp_port = "smtp", port
        bare_smtplib(port, enqueue(rt, 50))  # warm-up, so neither side pays for first connections
        DeliveryWorker(rt).flush()
        for done in range(rounds):  # alternating, so a slower spell of the machine hits both alike
            raws = enqueue(rt, count, 50 + done * count)
            rates["bare"].append(bare_smtplib(port, raws))
            with Timer() as timer:
                DeliveryWorker(rt).flush()
            rates["mailflow"].append(count / timer.seconds)
        assert Outbox.select().where(Outbox.status == "sent").count() == rounds * count + 50, "a mail was not sent"
        assert sink.value == 2 * (rounds * count + 50)
    ratios = [ours / theirs for ours, theirs in zip(rates["mailflow"], rates["bare"])]
    return [Result("delivery", median(rates["mailflow"]), "mails/s", median(rates["bare"]), "≥ 0.8×",
                   f"median of {rounds} alternating rounds of {count} mails, batch {rt.config.outbound.batch_size}; "
                   f"ratio per round {min(ratios):.2f}–{max(ratios):.2f}")]
