"""`mailflow serve` under forty 20 MiB messages at once: memory stays bounded, a small message still gets its
250 promptly, and every message is stored exactly once."""

from __future__ import annotations

import base64
import smtplib
import threading
import time
from pathlib import Path

from mailflow.models import InboundMessage
from tests.support.inbound import REPLY_DOMAIN, message
from tests.support.processes import mailflow_env, start, stop, wait_for
from tests.support.relay import free_port

BIG = 40
MIB = 1 << 20
# The forty messages are 800 MiB: a server that held them would pass 900 MiB. Measured peaks of `serve` are
# 344–408 MiB while another test suite loads the machine (the interpreter, the web app and the workers are about
# 100 MiB; the rest is how many large messages the writer and the inbound worker hold at one moment, which
# depends on timing): the bound keeps that margin, well under what holding them all would take.
PEAK_RSS_LIMIT = 450 * MIB
# One MiB of base64 lines (a PDF attachment, as mail clients send it), sent twenty times per message.
BLOCK = b"".join(base64.b64encode(bytes([n % 256]) * 57) + b"\r\n" for n in range(MIB // 78))


def big_message(n: int, blocks: int = 20) -> tuple[list[bytes], int]:
    """A reply with a ~20 MiB attachment, as the pieces to send (sharing one block) and its size once stored."""
    head = (f"From: sender{n}@example.be\r\nTo: reply@{REPLY_DOMAIN}\r\nSubject: Re: facture\r\n"
            f"Message-ID: <big-{n}@client.example>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
            "Voici le document.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            'Content-Disposition: attachment; filename="scan.pdf"\r\n\r\n').encode()
    tail = b"--b--\r\n"
    return [head, *[BLOCK] * blocks, tail], len(head) + blocks * len(BLOCK) + len(tail)


def send_streamed(port: int, pieces: list[bytes]) -> tuple[int, bytes]:
    """One transaction with smtplib, the data written piece by piece (no 20 MiB copy in the test)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("client.example")
        client.mail("sender@example.be")
        client.rcpt(f"reply@{REPLY_DOMAIN}")
        code, text = client.docmd("DATA")
        assert code == 354, (code, text)
        for piece in pieces:
            client.send(piece)  # no line of these starts with a dot: nothing to stuff
        client.send(b".\r\n")
        return client.getreply()


class Sampler(threading.Thread):
    """Reads a process's peak resident set (VmHWM) until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status, self.peak, self.done = Path(f"/proc/{pid}/status"), 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.sample()

    def sample(self) -> None:
        try:
            lines = self.status.read_text().splitlines()
        except OSError:  # the process is gone
            return
        found = [int(line.split()[1]) * 1024 for line in lines if line.startswith("VmHWM:")]
        self.peak = max([self.peak, *found])


def test_forty_big_messages_at_once_keep_serve_within_its_memory_and_a_small_one_gets_through(rt, tmp_path):
    smtp = free_port()
    # Every role runs, the inbound worker too: it reads those 40 messages while more arrive.
    env = mailflow_env(rt.config, inbound_smtp_host="127.0.0.1", inbound_smtp_port=smtp, web_host="127.0.0.1",
                       web_port=free_port(), inbound_imap_enabled="false", inbound_poll_seconds=0.2)
    serve = start(["serve"], env, tmp_path / "serve.log")
    sampler = Sampler(serve.pid)
    try:
        wait_for(lambda: _greets(smtp), 60, "mailflow serve to listen", (serve,))
        sampler.start()
        answers, small_took = _send_all(smtp)
        # A big message answered 451 (not stored within commit_timeout_seconds: PostgreSQL writes some
        # 40 MB/s) is still committed by the writer afterwards; an MTA's retry would get that row's 250.
        wait_for(lambda: InboundMessage.select().count() >= BIG + 1, 120, "every message stored", (serve,))
        wait_for(lambda: not InboundMessage.select().where(InboundMessage.status.in_(("received", "processing")))
                 .exists(), 300, "every message processed", (serve,))
        sampler.sample()
    finally:
        sampler.done.set()
        stop(serve)
    assert all(code == 250 or (code, text[:5]) == (451, b"4.3.0") for code, text in answers), answers
    assert small_took < 30, f"the small message took {small_took:.1f} s"
    assert sampler.peak <= PEAK_RSS_LIMIT, f"peak RSS {sampler.peak / MIB:.0f} MiB"
    sizes = sorted(row.size for row in InboundMessage.select(InboundMessage.size))
    assert sizes == sorted([len(message_small())] + [big_message(n)[1] for n in range(BIG)])


def _greets(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5):
            return True
    except OSError:
        return False


def message_small() -> bytes:
    return message(body="Une petite question pendant la tempête.", message_id="<small@client.example>")


def _send_all(port: int) -> tuple[list[tuple[int, bytes]], float]:
    """The forty big messages from forty threads and, once they are under way, the small one; the big ones'
    answers, and how long the small one took to get its 250."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * BIG

    def big(n: int) -> None:
        answers[n] = send_streamed(port, big_message(n)[0])
    threads = [threading.Thread(target=big, args=(n,)) for n in range(BIG)]
    for thread in threads:
        thread.start()
    time.sleep(2)  # the big ones are in the middle of their data
    began = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        refused = client.sendmail("small@example.be", [f"reply@{REPLY_DOMAIN}"], message_small())
    took = time.monotonic() - began
    assert refused == {}
    for thread in threads:
        thread.join(120)
    return answers, took
