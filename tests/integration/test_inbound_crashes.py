"""`kill -9` of the inbound SMTP server mid-DATA and of the inbound worker mid-processing, again and again:
every message that got a 250 is stored once and processed once, none is half-written, none is answered twice."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from mailflow.inbound.store import store_raw
from mailflow.models import InboundMessage, Outbox
from tests.support import factories
from tests.support.processes import mailflow_env, start, stop, wait_for
from tests.support.relay import free_port

MARIE = factories.MARIE.email
SUPPORT = "support@reply.mailflow.example"
FINAL = ("processed", "staff", "ignored", "failed")
KILLS = 3  # a message claimed by every killed worker is still below the worker's give-up count
CONTROLLED, RANDOM = 24, 40  # messages of the sender whose DATA is cut, and of the one killed at random moments


def mail(tag: str, n: int, size: int) -> bytes:
    """A HELP command from a registered sender (answered by mail), padded to `size` bytes, CRLF throughout."""
    padding = "".join(f"padding line {i:06d} of message {tag}{n}\r\n" for i in range(size // 40))
    return (f"From: Marie Dupont <{MARIE}>\r\nTo: {SUPPORT}\r\nSubject: Re: votre facture\r\n"
            f"Message-ID: <crash-{tag}{n}@client.example>\r\n\r\nAIDE\r\n\r\n{padding}").encode()


def header(raw: bytes, name: str) -> str:
    return BytesHeaderParser(policy=compat32).parsebytes(raw)[name]


def message_id(raw: bytes) -> str:
    return header(raw, "Message-ID")


@dataclass
class Server:
    """`mailflow serve --role inbound` in a child process that the test kills and restarts."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen | None = None
    up: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.process = start(["serve", "--role", "inbound"], self.env, self.log)
        wait_for(self.listening, 60, "the inbound server to listen", (self.process,))
        self.up.set()

    def kill(self) -> None:
        self.up.clear()
        stop(self.process, signal.SIGKILL)

    def listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True


def inbound_env(rt, **extra) -> dict[str, str]:
    return mailflow_env(rt.config, inbound_imap_enabled="false", inbound_lease_seconds=2,
                        inbound_poll_seconds=0.1, inbound_answers_per_day=100_000,
                        inbound_unsigned_answers_per_day=100_000, **extra)


class Cut(threading.Event):
    """Set by the sender half-way through DATA; the killer answers once the server is dead."""

    def __init__(self) -> None:
        super().__init__()
        self.gone = threading.Event()

    def wait_gone(self) -> None:
        self.gone.wait(60)


def send(port: int, raw: bytes, cut: Cut | None = None) -> int | None:
    """One SMTP transaction; with `cut`, half the message is sent, then `cut` is set and the rest follows
    once the server is gone. Returns the final answer's code, or None when the connection died first."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo("client.example")
            for command in (f"MAIL FROM:<{MARIE}>", f"RCPT TO:<{SUPPORT}>", "DATA"):
                code, _ = client.docmd(command)
                if code not in (250, 354):
                    return code
            client.send(raw[: len(raw) // 2])
            if cut is not None:
                cut.set()
                cut.wait_gone()
            client.send(raw[len(raw) // 2:] + b".\r\n")
            return client.getreply()[0]
    except (OSError, smtplib.SMTPException):
        return None


def controlled_sender(server: Server, cuts: list[Cut], answers: dict[bytes, int | None]) -> None:
    """Sends CONTROLLED messages; every few, it stops half-way through DATA for the server to be killed."""
    every = CONTROLLED // (len(cuts) + 1)
    for n in range(CONTROLLED):
        server.up.wait(60)
        raw = mail("c", n, 64_000)
        cut = cuts[n // every - 1] if n % every == 0 and 0 < n // every <= len(cuts) else None
        answers[raw] = send(server.port, raw, cut)


def random_sender(server: Server, answers: dict[bytes, int | None], done: threading.Event) -> None:
    """Sends while the other one runs, so kills also land in its sessions wherever they happen to be."""
    for n in range(RANDOM):
        if done.is_set():
            return
        server.up.wait(60)
        raw = mail("r", n, 16_000)
        answers[raw] = send(server.port, raw)


def answers_per_message() -> Counter[str]:
    return Counter(header(bytes(row.raw), "In-Reply-To") for row in Outbox.select().where(Outbox.kind == "answer"))


def assert_each_processed_once(ids: set[str]) -> None:
    rows = list(InboundMessage.select())
    assert Counter(row.message_id for row in rows) == Counter(ids)  # each stored exactly once
    assert {row.status for row in rows} == {"processed"}, Counter((row.status, row.error) for row in rows)
    assert answers_per_message() == Counter(ids)  # each answered exactly once


def test_inbound_server_killed_mid_data_keeps_every_accepted_message_once(rt, tmp_path):
    factories.customer(rt)
    port = free_port()
    server = Server(inbound_env(rt, inbound_smtp_host="127.0.0.1", inbound_smtp_port=port), port,
                    tmp_path / "inbound.log")
    cuts, answers, done = [Cut() for _ in range(KILLS)], {}, threading.Event()
    server.start()
    senders = [threading.Thread(target=controlled_sender, args=(server, cuts, answers)),
               threading.Thread(target=random_sender, args=(server, answers, done))]
    for sender in senders:
        sender.start()
    try:
        for cut in cuts:
            assert cut.wait(60), "the sender reached its cut"
            server.kill()
            cut.gone.set()
            server.start()
        senders[0].join(120)
        done.set()
        senders[1].join(120)
        check_nothing_half_written(answers)
        for raw, code in list(answers.items()):  # the client retries what got no 250, as an MTA would
            if code != 250:
                answers[raw] = send(port, raw)
        assert set(answers.values()) == {250}
        wait_for(lambda: InboundMessage.select().where(InboundMessage.status.not_in(FINAL)).count() == 0,
                 60, "every message processed", (server.process,))
    finally:
        done.set()
        for cut in cuts:
            cut.gone.set()
        stop(server.process)
    assert_each_processed_once({message_id(raw) for raw in answers})


def check_nothing_half_written(answers: dict[bytes, int | None]) -> None:
    """Accepted messages are stored byte for byte; the others are absent or stored whole (committed, then cut)."""
    stored = {row.message_id: bytes(row.raw) for row in InboundMessage.select()}
    sent = {message_id(raw): raw for raw in answers}
    assert set(stored) <= set(sent)
    assert all(stored[key] == raw for key, raw in sent.items() if key in stored)
    assert all(message_id(raw) in stored for raw, code in answers.items() if code == 250)
    cut_off = [raw for raw, code in answers.items() if code != 250]
    assert len(cut_off) >= KILLS  # each cut really cost its sender the 250


def test_inbound_worker_killed_mid_processing_handles_each_message_once(rt, tmp_path):
    factories.customer(rt)
    ids = {message_id(store_raw(rt, mail("w", n, 32_000), "smtp", MARIE, [SUPPORT]).raw) for n in range(90)}
    env = inbound_env(rt, inbound_smtp_enabled="false")
    interrupted = 0
    for round_ in range(KILLS):
        worker = start(["serve", "--role", "inbound"], env, tmp_path / f"worker{round_}.log")
        target = 20 * (round_ + 1)
        wait_for(lambda: processed() >= target, 60, f"{target} messages processed", (worker,))
        stop(worker, signal.SIGKILL)
        interrupted += InboundMessage.select().where(InboundMessage.status == "processing").count()
    survivor = start(["serve", "--role", "inbound"], env, tmp_path / "survivor.log")
    try:
        wait_for(lambda: processed() == len(ids), 60, "every message processed after the leases ran out",
                 (survivor,))
    finally:
        stop(survivor)
    assert interrupted > 0  # the kills left claimed messages behind, which the leases gave back
    assert InboundMessage.select().where(InboundMessage.attempts > 1).count() > 0
    assert_each_processed_once(ids)


def processed() -> int:
    return InboundMessage.select().where(InboundMessage.status == "processed").count()
