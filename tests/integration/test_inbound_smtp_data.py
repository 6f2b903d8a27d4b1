"""DATA read in chunks: the bytes stored are exactly the message sent, whatever the chunking, dots or line lengths,
the size limit holds while reading, and nothing after the terminator is taken from the next command."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow.inbound.smtp_server import TERMINATOR, Unstuffer, read_data
from tests.support.inbound import (  # noqa: F401 (inbound_smtp is a fixture)
    RawClient, inbound_smtp, message, rows, send, started,
)


def reference(data: bytes) -> tuple[bytes, bytes] | None:
    """What RFC 5321 makes of `data` after a 354, line by line: the message and what follows it."""
    stream = b"\r\n" + data  # the CRLF before the first line: ".\r\n" at once ends an empty message
    end = stream.find(TERMINATOR)
    if end < 0:
        return None
    return stream[: end + 2].replace(b"\r\n.", b"\r\n")[2:], stream[end + 5:]


async def chunked(data: bytes, cuts: list[int], limit: int) -> tuple[bytes, bytes] | None:
    """Feed `data` to a real StreamReader in pieces, read one DATA section from it, then the rest."""
    reader, out = asyncio.StreamReader(limit=limit), []

    async def feed() -> None:
        for start, end in zip([0, *cuts], [*cuts, len(data)]):
            reader.feed_data(data[start:end])
            await asyncio.sleep(0)
        reader.feed_eof()
    feeding = asyncio.ensure_future(feed())
    try:
        await read_data(reader, Unstuffer(out.append))
    except asyncio.IncompleteReadError:
        return None
    finally:
        await feeding
    return b"".join(out), await reader.read()


PIECES = st.sampled_from([b"\r", b"\n", b".", b"a", b"\r\n", b"\r\n.", b".\r\n", b"\r\n.\r\n", b"\r\n..", b"x" * 40])


@st.composite
def streams(draw) -> tuple[bytes, list[int], int]:
    data = b"".join(draw(st.lists(PIECES, max_size=14)))
    if draw(st.booleans()):
        data += b"\r\n.\r\nQUIT\r\n"
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=5))))
    return data, cuts, draw(st.sampled_from([1, 2, 3, 5, 16, 1001]))


@settings(max_examples=3000, deadline=None)
@given(streams())
def test_any_chunking_reads_what_the_line_by_line_rules_read(case: tuple[bytes, list[int], int]) -> None:
    data, cuts, limit = case
    assert asyncio.run(chunked(data, cuts, limit)) == reference(data)


def test_dots_long_lines_and_bare_line_ends_are_stored_byte_for_byte(rt, inbound_smtp):
    raw = (b"From: a@example.be\r\nMessage-ID: <dots@example.be>\r\n\r\n.starts with a dot\r\n..two\r\n.\r\n"
           b"bare\nline feed and bare\rreturn\r\n" + b"y" * 300_000 + b"\r\n.")
    with RawClient(inbound_smtp) as client:
        client.envelope()
        assert client.command("DATA").code == 354
        stuffed = raw.replace(b"\r\n.", b"\r\n..")
        assert client.command(stuffed + b"\r\n.\r\n").code == 250
        assert client.command("QUIT").code == 221
    assert bytes(rows()[0].raw) == raw + b"\r\n"


def test_an_empty_message_is_a_message(rt, inbound_smtp):
    with RawClient(inbound_smtp) as client:
        client.envelope()
        assert client.command("DATA").code == 354
        assert client.command(".").code == 250
    assert bytes(rows()[0].raw) == b""


def test_a_client_hanging_up_in_the_middle_of_its_data_leaves_nothing_behind(rt):
    with started(rt, spool_bytes=4096, max_concurrent_data=1) as server:
        with RawClient(server) as client:
            client.envelope()
            assert client.command("DATA").code == 354
            client.write(message(body="x" * 50_000)[:30_000])  # past spool_bytes: on disk by now
        assert send(server, message()).code == 250  # its place in DATA was given back
    assert len(rows()) == 1


def test_oversize_is_read_to_its_end_refused_and_the_session_goes_on(rt):
    with started(rt, max_message_bytes=100_000, spool_bytes=10_000) as server, RawClient(server) as client:
        client.envelope()
        assert client.command("DATA").code == 354
        answer = client.command((b"w" * 998 + b"\r\n") * 150 + b".\r\n")
        assert (answer.code, answer.text) == (552, "5.3.4 Message too big for this system")
        assert client.command("MAIL FROM:<a@example.be>").code == 250  # a fresh transaction
        assert client.command("RCPT TO:<reply@reply.mailflow.example>").code == 250
        assert client.command("DATA").code == 354
        assert client.command(message() + b".\r\n").code == 250
    assert len(rows()) == 1


def test_a_message_past_spool_bytes_is_stored_whole(rt):
    raw = message(body="line of a long reply\n" * 20_000)
    with started(rt, spool_bytes=4096) as server:
        assert send(server, raw).code == 250
    assert bytes(rows()[0].raw) == raw
