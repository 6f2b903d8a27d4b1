"""The inbound SMTP door under abuse, over real sockets: capped sessions, recipients and concurrent DATA, a listen
backlog that greets a thousand simultaneous clients, a door that answers while the database is locked, and a
clear error when its port is taken."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import time
from collections.abc import Iterator

import psycopg2
import pytest

from mailflow.errors import PortInUse
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage
from mailflow.runtime import Runtime
from tests.support.inbound import REPLY_DOMAIN, RawClient, message, rows, send, started


def test_a_connection_over_max_sessions_gets_421_and_is_closed(rt):
    with started(rt, max_sessions=200) as server, contextlib.ExitStack() as stack:
        clients = [stack.enter_context(RawClient(server)) for _ in range(200)]
        assert {client.reply().code for client in clients} == {220}
        with RawClient(server) as late:
            answer = late.reply()
            assert (answer.code, answer.text) == (421, "4.7.0 Too many connections, try again later")
            assert late.reply().code == 0  # closed by the server
        clients.pop().close()
        assert _greeted_soon(server)  # a place came free


def _greeted_soon(server: InboundSmtpServer) -> bool:
    """A new client is greeted within a few seconds (the server notices a closed session asynchronously)."""
    for _ in range(100):
        with RawClient(server) as client:
            if client.reply().code == 220:
                return True
        time.sleep(0.05)
    return False


def test_recipients_over_max_recipients_get_452_and_the_rest_is_stored(rt):
    with started(rt, max_recipients=50) as server, RawClient(server) as client:
        client.envelope(rcpt=f"r0@{REPLY_DOMAIN}")
        for n in range(1, 50):
            assert client.command(f"RCPT TO:<r{n}@{REPLY_DOMAIN}>").code == 250
        answer = client.command(f"RCPT TO:<r50@{REPLY_DOMAIN}>")
        assert (answer.code, answer.text) == (452, "4.5.3 Too many recipients")
        assert client.command(f"RCPT TO:<r51@{REPLY_DOMAIN}>").code == 452
        assert client.command("DATA").code == 354
        assert client.command(message() + b".\r\n").code == 250
    [row] = rows()
    assert row.envelope_to.split("\n") == [f"r{n}@{REPLY_DOMAIN}" for n in range(50)]


def test_a_thousand_simultaneous_connections_each_get_an_answer(rt):
    with started(rt) as server:
        codes = asyncio.run(_connect_all(server, 1000))
    assert len(codes) == 1000 and set(codes) <= {220, 421}, sorted(set(codes))
    assert 0 < codes.count(220) <= 200  # all held open: the rest were told to come back


async def _connect_all(server: InboundSmtpServer, count: int) -> list[int]:
    """Connect `count` clients at once and hold them all open until each has read its first line."""
    connected = await asyncio.gather(*(_first_line(server) for _ in range(count)))
    for _, writer in connected:
        writer.close()
    return [code for code, _ in connected]


async def _first_line(server: InboundSmtpServer) -> tuple[int, asyncio.StreamWriter]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(server.host, server.port), 60)
    try:
        line = await asyncio.wait_for(reader.readline(), 60)
    except asyncio.TimeoutError:
        line = b"000 no answer"
    return int(line[:3] or 0), writer


def test_data_waits_for_a_place_before_its_354(rt):
    with started(rt, max_concurrent_data=1) as server, RawClient(server) as first, RawClient(server) as second:
        first.envelope()
        second.envelope()
        assert first.command("DATA").code == 354
        first.write(message(subject="first")[:200])  # in the middle of its data
        second.write(b"DATA\r\n")
        assert not _answers_within(second, 1.0)  # no place: no 354 yet
        assert first.command(message(subject="first")[200:] + b".\r\n").code == 250
        assert second.reply().code == 354
        assert second.command(message(subject="second") + b".\r\n").code == 250
    assert len(rows()) == 2


def _answers_within(client: RawClient, seconds: float) -> bool:
    client.sock.settimeout(seconds)
    try:
        return bool(client.sock.recv(1, socket.MSG_PEEK))
    except TimeoutError:
        return False
    finally:
        client.sock.settimeout(30)


def test_while_the_database_is_locked_the_door_answers_and_times_out_with_451(rt):
    raw = message(body="Pendant un import.")
    with started(rt, commit_timeout_seconds=1.0) as server:
        with write_lock(rt):
            with RawClient(server) as waiting, RawClient(server) as other:
                waiting.envelope()
                started_at = time.monotonic()
                answer = waiting.command(b"DATA\r\n" + raw + b".\r\n")  # 354, then the final answer
                assert answer.code == 354
                answer = waiting.reply()
                assert (answer.code, answer.text[:5]) == (451, "4.3.0")
                assert time.monotonic() - started_at < 15  # the bound, not the 30 s busy timeout
                for command, code in [("", 220), ("EHLO client.example", 250), ("MAIL FROM:<b@example.be>", 250),
                                      (f"RCPT TO:<reply@{REPLY_DOMAIN}>", 250)]:
                    asked = time.monotonic()
                    assert (other.reply() if not command else other.command(command)).code == code
                    assert time.monotonic() - asked < 5  # the loop is not waiting for the database
        retry = send(server, raw)  # the MTA's retry, once the lock is gone
        assert retry.code == 250
    [row] = rows()  # committed once: the first attempt (after its 451) or the retry, never both
    assert bytes(row.raw) == raw and retry.text == f"2.0.0 Stored as {row.id}"


@contextlib.contextmanager
def write_lock(rt: Runtime) -> Iterator[None]:
    """Another connection holding the inbound table's write lock, as an import in another process would."""
    url = rt.config.database.url
    if url.startswith("sqlite:///"):
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = psycopg2.connect(url)
        other.cursor().execute(f'LOCK TABLE "{InboundMessage._meta.table_name}" IN EXCLUSIVE MODE')
    try:
        yield
    finally:
        other.rollback()
        other.close()


def test_a_taken_port_is_port_in_use_naming_it(rt):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as refused:
            InboundSmtpServer(rt, host="127.0.0.1", port=port).start()
    assert refused.value.message == f"[inbound.smtp] port {port} on 127.0.0.1 is already in use"
    assert refused.value.exit_code == 75 and refused.value.__cause__ is None
