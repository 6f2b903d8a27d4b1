"""The inbound SMTP door: check the recipient and size, store the raw bytes, and only then say 250."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import BinaryIO

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from mailflow.config import SmtpInboundConfig
from mailflow.errors import PortInUse, StorageError
from mailflow.inbound.committer import LARGE_BYTES, GroupCommitter
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

REFUSED_DOMAIN = "550 5.1.2 Mail for this domain is not accepted here"
TOO_BIG = "552 5.3.4 Message too big for this system"
TOO_MANY_SESSIONS = "421 4.7.0 Too many connections, try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NOT_STORED_IN_TIME = "451 4.3.0 Could not store the message in time, try again later"
TERMINATOR = b"\r\n.\r\n"


QUIET_SECONDS = 0.01  # the door counts as quiet once no client did anything for this long
LONGEST_YIELD_SECONDS = 1.0  # processing waits at most this long for a quiet door: under endless load it goes on


class DoorActivity:
    """When the door last worked for a client, so the inbound worker of the same process can give it way.

    Both share one interpreter lock: a worker parsing a message holds it for milliseconds at a time, and every
    step of every SMTP session (a command, a chunk of DATA, the answer after the commit) waited for it. Mail
    is durable once stored; being answered quickly is what senders see. Only the door's event loop thread
    writes these fields; the worker only reads them.
    """

    def __init__(self) -> None:
        self.last = float("-inf")
        self.in_data = 0  # sessions reading or storing a message: busy whatever the clock says

    def touch(self) -> None:
        self.last = time.monotonic()

    @contextmanager
    def receiving(self) -> Iterator[None]:
        self.in_data += 1
        try:
            yield
        finally:
            self.in_data -= 1
            self.touch()

    def quiet_for(self) -> float:
        return 0.0 if self.in_data else time.monotonic() - self.last

    def wait_quiet(self, quiet: float = QUIET_SECONDS, longest: float = LONGEST_YIELD_SECONDS) -> None:
        """Return once no client has been served for `quiet` seconds, or after `longest` seconds anyway.

        While the door stays busy the worker looks less and less often (each look takes the interpreter lock
        from the door): `quiet`, then twice that, up to eight times, so a lone reply waits `quiet` and a long
        burst costs some twenty looks a second."""
        deadline, nap = time.monotonic() + longest, quiet
        while (wait := quiet - self.quiet_for()) > 0 and (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(max(wait, nap), remaining))
            nap = min(2 * nap, 8 * quiet)


@dataclass
class InboundHandler:
    """aiosmtpd handler: check, store, answer (the work itself happens in the inbound worker)."""

    committer: GroupCommitter
    domains: frozenset[str]
    max_bytes: int
    max_recipients: int = 50
    max_sessions: int = 200
    spool_bytes: int = 1 << 20
    commit_timeout: float = 20.0
    data_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(50))
    sessions: int = 0  # open connections; only the server's event loop thread touches it
    activity: DoorActivity = field(default_factory=DoorActivity)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        self.activity.touch()  # each message has one: a sending client keeps the door busy
        if address.rpartition("@")[2].strip().rstrip(".").lower() not in self.domains:
            return REFUSED_DOMAIN
        if len(envelope.rcpt_tos) >= self.max_recipients:
            log.warning("inbound SMTP: %s: %s after %d recipients", peer(session), TOO_MANY_RECIPIENTS,
                        len(envelope.rcpt_tos))
            return TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def receive(self, session: Session, envelope: Envelope, spool: BinaryIO, size: int) -> str:
        """Hand the spooled message to the writer (which then owns the spool) and answer once it is stored."""
        client = session.peer[0] if isinstance(session.peer, tuple) else None  # SPF is checked for it later
        future = self.committer.submit(spool, size, "smtp", envelope.mail_from or "", list(envelope.rcpt_tos),
                                       client, session.host_name)
        try:
            # Past the bound the future is cancelled and the session answers 451, but the message stays with the
            # writer and may still be committed; the MTA's retry of it then has the same dedup key and gets that
            # row's 250. Awaited directly (not wait_for around a shield, which chain three futures): the commit's
            # result resumes the session in the loop's next turn instead of its third.
            async with asyncio.timeout(self.commit_timeout):
                stored = await future
        except TimeoutError:
            log.warning("inbound SMTP: %s: not stored within %.1f s, answered 451", peer(session),
                        self.commit_timeout)
            return NOT_STORED_IN_TIME
        except StorageError as exc:
            log.error("inbound SMTP: %s: %s", peer(session), exc.message)
            return exc.smtp_reply
        return f"250 2.0.0 Stored as {stored}"


class InboundSMTP(SMTP):
    """aiosmtpd's SMTP with the door's caps: sessions, and DATA read in chunks into a spool.

    aiosmtpd's own DATA keeps every line as a bytearray, then joins them (a 24 MB message cost ~85 MB);
    here the data goes to a SpooledTemporaryFile (in memory up to `spool_bytes`, then on disk), and lines
    of any length are taken.
    """

    event_handler: InboundHandler

    def __init__(self, handler: InboundHandler, **kwargs: object) -> None:
        super().__init__(handler, **kwargs)
        self.over_capacity = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        handler = self.event_handler
        if handler.sessions >= handler.max_sessions:
            self.over_capacity = True  # refused before any SMTP state exists: nothing to undo below
            log.warning("inbound SMTP: %s: %s (%d open)", host_port(transport.get_extra_info("peername")),
                        TOO_MANY_SESSIONS, handler.sessions)
            transport.write(TOO_MANY_SESSIONS.encode() + b"\r\n")  # type: ignore[attr-defined]
            transport.close()
            return
        handler.sessions += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.over_capacity:
            return
        self.event_handler.sessions -= 1
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        return False if self.over_capacity else super().eof_received()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        handler = self.event_handler
        async with handler.data_slots:  # a place before the 354: this many messages come in at once
            with handler.activity.receiving():
                await self.push("354 End data with <CR><LF>.<CR><LF>")
                status = await self.take_message()
        self.envelope = Envelope()  # as after any DATA: the next transaction starts afresh
        if status is not None:
            await self.push(status)

    async def take_message(self) -> str | None:
        """Read the data into a spool and have it stored; the answer, or None when the client went away."""
        spool = await self.spool_data()
        if spool is None:
            return None
        if spool.too_big:
            spool.close()
            log.warning("inbound SMTP: %s: %s (%d bytes)", peer(self.session), TOO_BIG, spool.size)
            return TOO_BIG
        assert self.session is not None and self.envelope is not None
        return await self.event_handler.receive(self.session, self.envelope, spool.file, spool.size)

    async def spool_data(self) -> Spool | None:
        spool = Spool(self.event_handler.spool_bytes, self.event_handler.max_bytes)
        try:
            # aiosmtpd keeps the connection's StreamReader only as `_reader` (there is no public accessor);
            # reading it in chunks rather than line by line is the point of this method.
            await read_data(self._reader, Unstuffer(spool.write))
        except asyncio.IncompleteReadError:  # the client hung up before the end of its data
            spool.close()
            assert self.transport is not None
            self.transport.close()
            return None
        except BaseException:
            spool.close()
            raise
        return spool


class Spool:
    """Where DATA goes: memory up to `spool_bytes`, then a temporary file; nothing past `limit` bytes."""

    def __init__(self, spool_bytes: int, limit: int) -> None:
        self.file: BinaryIO = SpooledTemporaryFile(max_size=spool_bytes)  # type: ignore[assignment]
        self.limit = limit
        self.size = 0

    @property
    def too_big(self) -> bool:
        return self.size > self.limit

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.too_big:  # the rest is read (the client must get to its end to hear the 552) and dropped
            self.file.close()
        else:
            self.file.write(data)

    def close(self) -> None:
        self.file.close()


class Unstuffer:
    """RFC 5321 4.5.2 undone on a stream of chunks: a dot that starts a line is dropped.

    It is fed the DATA stream up to and including the terminator `<CRLF>.<CRLF>`, and writes the message:
    its lines, through the CRLF of the last one. The stream is taken to begin with the CRLF that ended the
    line before it, so that a dot starting the first line is a line-start dot too.
    """

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._held = b"\r\n"  # input not written yet: the last bytes may be the terminator's, or begin a CRLF-dot
        self._skip = 2  # the leading CRLF above is not the message's

    def feed(self, data: bytes) -> None:
        held = self._held + data
        cut = _safe_cut(held)
        self._out(held[:cut])
        self._held = held[cut:]

    def end(self) -> None:
        self._out(self._held[:-3])  # all but the terminator's ".\r\n": its CRLF ends the last line

    def _out(self, data: bytes) -> None:
        data = data.replace(b"\r\n.", b"\r\n")
        if self._skip:
            skipped, data = data[: self._skip], data[self._skip:]
            self._skip -= len(skipped)
        if data:
            self._write(data)


def _safe_cut(held: bytes) -> int:
    """Where `held` can be split: at least three bytes short of its end (the terminator's ".\r\n" is only
    dropped at the end), and not inside a CRLF-dot, which must be seen whole to be undone."""
    cut = len(held) - 3
    if cut >= 2 and held.startswith(b"\r\n.", cut - 2):
        return cut - 2
    if cut >= 1 and held.startswith(b"\r\n.", cut - 1):
        return cut - 1
    return max(cut, 0)


async def read_data(reader: asyncio.StreamReader, unstuffer: Unstuffer) -> None:
    """Read one DATA section through its terminator (and not a byte further: the next command follows).

    The reader gives back either everything up to a separator, or, past its limit, a chunk that cannot hold
    one; the separator is whatever rest of the terminator the bytes taken so far do not already begin (the
    whole of it, mostly), so a terminator split across chunks is found too.
    """
    recent = b"\r\n"  # the last bytes taken; the CRLF before the first line counts (".\r\n" at once: empty)
    while True:
        separator = TERMINATOR[_begun(recent):]
        try:
            chunk = await reader.readuntil(separator)
        except asyncio.LimitOverrunError as over:  # no separator within the limit: take what cannot end one
            chunk = await reader.read(over.consumed)
        unstuffer.feed(chunk)
        recent = (recent + chunk[-5:])[-5:]
        if recent == TERMINATOR:
            unstuffer.end()
            return
        recent = recent[-4:]


def _begun(recent: bytes) -> int:
    """How much of a terminator `recent` ends with (4, 3, 2, 1 or 0 bytes)."""
    for size in (4, 3, 2, 1):
        if recent.endswith(TERMINATOR[:size]):
            return size
    return 0


def peer(session: Session | None) -> str:
    return host_port(session.peer if session is not None else None)


def host_port(peername: object) -> str:
    """host:port of a peer, for the log lines that name whom the door refused."""
    return f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)


class Listener:
    """The SMTP server's own thread and event loop, listening with the configured backlog.

    Not aiosmtpd's Controller: in 1.4.6 it gives loop.create_server no backlog (its `server_kwargs` are the
    SMTP class's), and on a bind error it waits out its ready timeout before raising it.
    """

    def __init__(self, factory: Callable[[], SMTP], host: str, port: int, backlog: int) -> None:
        self.factory, self.host, self.port, self.backlog = factory, host, port, backlog
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: OSError | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.loop, ready = asyncio.new_event_loop(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="inbound-smtp-loop", daemon=True)
        self._thread.start()
        ready.wait()
        if self.error is not None:
            self._thread.join()
            raise self.error

    def stop(self) -> None:
        if self.loop is not None and self._thread is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()

    def _run(self, ready: threading.Event) -> None:
        loop = self.loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(loop.create_server(self.factory, self.host, self.port,
                                                                backlog=self.backlog))
        except OSError as exc:
            self.error = exc
            loop.close()
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(_close(server))
        loop.close()


async def _close(server: asyncio.AbstractServer) -> None:
    """Stop listening, end every session (aiosmtpd closes its connection when cancelled), let them finish."""
    server.close()
    sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in sessions:
        task.cancel()
    await asyncio.gather(*sessions, return_exceptions=True)
    await server.wait_closed()
    await asyncio.sleep(0)  # the closed transports' connection_lost callbacks


class InboundSmtpServer:
    """Start and stop the inbound SMTP listener (own thread and event loop) and its writer thread."""

    def __init__(self, rt: Runtime, host: str | None = None, port: int | None = None) -> None:
        cfg = rt.config.inbound.smtp
        self.host = host or cfg.host
        self.port = port if port is not None else cfg.port
        self.port = self.port or free_port(self.host)
        self.committer = GroupCommitter(rt)
        self.handler = handler_for(cfg, self.committer)
        name = socket.getfqdn()  # once: aiosmtpd would look it up again for every connection
        self.listener = Listener(lambda: InboundSMTP(self.handler, data_size_limit=cfg.max_message_bytes,
                                                     enable_SMTPUTF8=True, hostname=name,
                                                     ident="mailflow inbound"),
                                 self.host, self.port, cfg.listen_backlog)

    def start(self) -> "InboundSmtpServer":
        # aiosmtpd logs every SMTP command at INFO; mailflow logs what matters (stored, refused, failed).
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.committer.start()
        try:
            self.listener.start()
        except OSError as exc:
            self.committer.stop()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"[inbound.smtp] port {self.port} on {self.host} is already in use") from None
            raise
        log.info("inbound SMTP listening on %s:%s", self.host, self.port)
        return self

    @contextmanager
    def processing_turn(self, size: int) -> Iterator[None]:
        """Held by the inbound worker of this process around each claim and message: the door goes first
        (`DoorActivity.wait_quiet`), and a large message is read only while the writer holds no large batch."""
        self.handler.activity.wait_quiet()
        with self.committer.large if size >= LARGE_BYTES else nullcontext():
            yield

    def stop(self) -> None:
        """Answer the messages already received (the writer commits what is queued), then close the door."""
        self.committer.stop(timeout=self.handler.commit_timeout)
        self.listener.stop()


def handler_for(cfg: SmtpInboundConfig, committer: GroupCommitter) -> InboundHandler:
    return InboundHandler(committer, frozenset(d.lower().rstrip(".") for d in cfg.domains), cfg.max_message_bytes,
                          max_recipients=cfg.max_recipients, max_sessions=cfg.max_sessions,
                          spool_bytes=cfg.spool_bytes, commit_timeout=cfg.commit_timeout_seconds,
                          data_slots=asyncio.Semaphore(cfg.max_concurrent_data))


def free_port(host: str) -> int:
    """A port nobody listens on, for port 0 (the server is told its port up front)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
