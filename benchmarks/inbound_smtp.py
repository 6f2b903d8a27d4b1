"""inbound_smtp: messages/s accepted durably over 1 and 8 connections, against a bare aiosmtpd that answers 250."""

from __future__ import annotations

import multiprocessing
import smtplib
import tempfile
import threading
from statistics import median
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from aiosmtpd.controller import Controller

from benchmarks.common import Result, Timer, free_port, scratch_config

DOMAIN = "reply.mailflow.example"


class Bare:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def _serve(kind: str, port: int, folder: str, ready, stop) -> None:
    if kind == "bare":
        server = Controller(Bare(), hostname="127.0.0.1", port=port)
        server.start()
    else:
        from mailflow.inbound.smtp_server import InboundSmtpServer
        from mailflow.runtime import open_runtime

        rt = open_runtime(scratch_config(Path(folder)))
        server = InboundSmtpServer(rt, "127.0.0.1", port).start()
    ready.set()
    stop.wait()
    server.stop()


@contextmanager
def server(kind: str) -> Iterator[int]:
    ctx = multiprocessing.get_context("spawn")
    ready, stop, port = ctx.Event(), ctx.Event(), free_port()
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as folder:
        process = ctx.Process(target=_serve, args=(kind, port, folder, ready, stop), daemon=True)
        process.start()
        ready.wait(60)
        try:
            yield port
        finally:
            stop.set()
            process.join(30)


def message(n: int, conn: int) -> bytes:
    body = "Bonjour,\r\n\r\nDUPLICATA F2026-0042\r\n\r\n" + "> quoted original line\r\n" * 40
    return (f"From: user{conn}@example.be\r\nTo: reply+x@{DOMAIN}\r\nSubject: Re: facture\r\n"
            f"Message-ID: <bench-{conn}-{n}@example.be>\r\n\r\n{body}").encode()


def _client(port: int, conn: int, count: int, errors: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for n in range(count):
            try:
                client.sendmail(f"user{conn}@example.be", [f"reply+x@{DOMAIN}"], message(n, conn))
            except smtplib.SMTPException as exc:
                errors.append(str(exc))


def load(port: int, connections: int, per_connection: int) -> float:
    errors: list[str] = []
    threads = [threading.Thread(target=_client, args=(port, c, per_connection, errors)) for c in range(connections)]
    with Timer() as timer:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors, errors[:3]
    return connections * per_connection / timer.seconds


def run(quick: bool) -> list[Result]:
    rounds, per_round = (3, 400) if quick else (7, 1000)
    results = []
    for connections in (1, 8):
        with server("bare") as bare, server("mailflow") as mailflow:
            rates: dict[int, list[float]] = {bare: [], mailflow: []}
            for port in (bare, mailflow):
                load(port, connections, 20 // connections + 1)  # warm-up
            for _ in range(rounds):  # alternating, so a slower spell of the machine hits both alike
                for port in (bare, mailflow):
                    rates[port].append(load(port, connections, per_round // connections))
        ratios = [ours / theirs for ours, theirs in zip(rates[mailflow], rates[bare])]
        results.append(Result(f"inbound_smtp ({connections} conn)", median(rates[mailflow]), "msgs/s",
                              median(rates[bare]), "≥ 0.7×",
                              f"median of {rounds} alternating rounds of {per_round} messages, each committed "
                              f"before 250; ratio per round {min(ratios):.2f}–{max(ratios):.2f}"))
    return results
