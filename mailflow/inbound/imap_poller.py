"""IMAP poller: store each new message of a mailbox first, then flag it and move it away."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from imapclient import SEEN, IMAPClient, SocketTimeout

log = logging.getLogger(__name__)

Store = Callable[[bytes], object]
"""Durably stores one raw message, deduplicating repeats; raising means "not stored"."""

# Anything that means "this connection is unusable": reconnecting is the remedy.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (OSError, imaplib.IMAP4.error)

# How often a waiting run() notices its stop event.
_STOP_CHECK_SECONDS = 0.5
_BODY = b"BODY[]"


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    ssl: bool
    username: str
    password: str
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    timeout: float = 30
    # Servers may drop IDLE after 29 minutes (RFC 2177); renew well before.
    idle_renew_seconds: int = 240
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    # Used only when the server lacks IDLE.
    poll_interval: float = 60.0
    # Bodies fetched per round trip; bounds memory with large attachments.
    batch_size: int = 20


class PollerState(Protocol):
    """Where the poller remembers how far it got, per mailbox."""

    def load(self, key: str) -> tuple[int | None, int]:
        """(uidvalidity, last_uid) saved for *key*; (None, 0) when unknown."""
        ...

    def save(self, key: str, uidvalidity: int, last_uid: int) -> None: ...


class Liveness(Protocol):
    """Where the poller reports its signs of life and its trouble, for health checks to read."""

    def alive(self, event: str) -> None:
        """A sign of life: "connected", "polled" or "idle" (an IDLE renewal or a server response)."""
        ...

    def failed(self, error: str) -> None: ...

    def stopped(self) -> None: ...


class Unobserved:
    """Liveness reported nowhere."""

    def alive(self, event: str) -> None:
        pass

    def failed(self, error: str) -> None:
        pass

    def stopped(self) -> None:
        pass


class StoreFailed(Exception):
    """The store raised; the message stays in the folder, unflagged, for the next round."""


def backoff_delay(failures: int, initial: float, maximum: float) -> float:
    """Seconds to wait after *failures* consecutive failures (1, 2, 4, … capped)."""
    return min(maximum, initial * 2 ** max(failures - 1, 0))


def transfer_method(capabilities: Iterable[bytes]) -> str:
    """How to file a message away: "move" (RFC 6851) or "copy" (COPY, \\Deleted, EXPUNGE)."""
    return "move" if b"MOVE" in {c.upper() for c in capabilities} else "copy"


def new_uids(found: Iterable[int], last_uid: int) -> list[int]:
    """UIDs above *last_uid*, ascending."""
    # `UID n:*` always matches the highest UID, even one below n (RFC 3501 6.4.8).
    return sorted(uid for uid in found if uid > last_uid)


def batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# imapclient surfaces unsolicited responses only during IDLE; the two helpers
# below reach into its imaplib connection (client._imap) for what it hides.


def _take_announced_exists(client: IMAPClient) -> bool:
    """Forget the EXISTS responses received so far; True when there was any."""
    _, data = client._imap.response("EXISTS")
    return any(item is not None for item in data)


def _input_already_buffered(client: IMAPClient) -> bool:
    """Whether the server's next line is already read into imaplib's buffers.

    News that arrives in the same packet as the "+ idling" continuation is
    buffered by imaplib, so select() on the socket would never report it.
    """
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(client._imap.file.peek(1))  # no public API exposes the buffer
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(timeout)


class ImapPoller:
    """Hands every new message of one folder to a store, then files it in processed_folder.

    A message is stored before it is flagged or moved, and the position is saved
    after each message, so a crash at any point loses nothing; it may hand a
    message to the store twice, which the store deduplicates.
    """

    def __init__(self, settings: ImapSettings, store: Store, state: PollerState,
                 liveness: Liveness | None = None) -> None:
        self.settings = settings
        self.store = store
        self.state = state
        self.liveness = liveness or Unobserved()
        self.last_poll_at: datetime | None = None
        self._client: IMAPClient | None = None
        self._uidvalidity = 0

    @property
    def state_key(self) -> str:
        s = self.settings
        return f"imap://{s.username}@{s.host}:{s.port}/{s.folder}"

    # -- one round ---------------------------------------------------------------

    def poll_once(self) -> int:
        """Store and file every new message; returns how many were stored.

        Raises StoreFailed when the store fails (the round stops there), or a
        connection error, after which the next call reconnects.
        """
        try:
            client = self._connected()
            stored = self._drain(client, self._select(client))
        except CONNECTION_ERRORS:
            self._drop()
            raise
        self.last_poll_at = datetime.now(timezone.utc)
        self.liveness.alive("polled")
        return stored

    def _select(self, client: IMAPClient) -> int:
        """Select the folder; returns the last UID already handled under its UIDVALIDITY."""
        uidvalidity = int(client.select_folder(self.settings.folder)[b"UIDVALIDITY"])
        saved_validity, last_uid = self.state.load(self.state_key)
        self._uidvalidity = uidvalidity
        if saved_validity == uidvalidity:
            return last_uid
        if saved_validity is not None:
            log.warning("UIDVALIDITY of %s changed (%s -> %s): rescanning the folder",
                        self.state_key, saved_validity, uidvalidity)
        self.state.save(self.state_key, uidvalidity, 0)
        return 0

    def _drain(self, client: IMAPClient, last_uid: int) -> int:
        """Handle new messages until a search finds none and none was announced meanwhile."""
        stored = 0
        while True:
            _take_announced_exists(client)
            uids = new_uids(client.search(["UID", f"{last_uid + 1}:*", "NOT", "DELETED"]), last_uid)
            # Mail announced while we worked is not announced again in IDLE: search again.
            if not uids and not _take_announced_exists(client):
                return stored
            stored += self._handle_all(client, uids)
            last_uid = max(uids, default=last_uid)

    def _handle_all(self, client: IMAPClient, uids: list[int]) -> int:
        stored = 0
        for batch in batches(uids, self.settings.batch_size):
            bodies = client.fetch(batch, ["BODY.PEEK[]"])
            stored += sum(self._handle(client, uid, bodies.get(uid, {})) for uid in batch)
        return stored

    def _handle(self, client: IMAPClient, uid: int, data: Mapping[bytes, object]) -> bool:
        raw = data.get(_BODY)
        if isinstance(raw, bytes):
            self._store(uid, raw)
            self._file_away(client, uid)
        # else: expunged by someone else between SEARCH and FETCH; nothing to keep.
        self.state.save(self.state_key, self._uidvalidity, uid)
        return isinstance(raw, bytes)

    def _store(self, uid: int, raw: bytes) -> None:
        try:
            self.store(raw)
        except Exception as exc:
            raise StoreFailed(f"store failed for UID {uid} of {self.state_key}: {exc}") from exc

    def _file_away(self, client: IMAPClient, uid: int) -> None:
        client.add_flags([uid], [SEEN])
        if transfer_method(client.capabilities()) == "move":
            client.move([uid], self.settings.processed_folder)
        else:
            self._copy_and_expunge(client, uid)

    def _copy_and_expunge(self, client: IMAPClient, uid: int) -> None:
        client.copy([uid], self.settings.processed_folder)
        client.delete_messages([uid])
        # UID EXPUNGE touches only our message; plain EXPUNGE also removes what
        # others marked \Deleted, which they asked for anyway.
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()

    # -- connection --------------------------------------------------------------

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> IMAPClient:
        s = self.settings
        client = IMAPClient(s.host, port=s.port, ssl=s.ssl,
                            timeout=SocketTimeout(connect=s.timeout, read=s.timeout))
        try:
            client.login(s.username, s.password)
            self._ensure_folder(client, s.processed_folder)
        except BaseException:
            self._shutdown(client)
            raise
        log.info("IMAP connected to %s:%s as %s", s.host, s.port, s.username)
        self.liveness.alive("connected")
        return client

    @staticmethod
    def _ensure_folder(client: IMAPClient, name: str) -> None:
        if client.folder_exists(name):
            return
        try:
            client.create_folder(name)
        except imaplib.IMAP4.error:
            # Another client may have created it in the meantime.
            if not client.folder_exists(name):
                raise

    def _drop(self) -> None:
        """Forget a connection presumed broken, without a LOGOUT round trip."""
        client, self._client = self._client, None
        if client is not None:
            self._shutdown(client)

    @staticmethod
    def _shutdown(client: IMAPClient) -> None:
        with contextlib.suppress(OSError):
            client.shutdown()

    def close(self) -> None:
        """Log out politely; safe to call more than once."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except CONNECTION_ERRORS:
            self._shutdown(client)

    # -- forever -----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll, wait for news (IDLE or sleep), repeat until *stop* is set; never raises."""
        failures = 0
        while not stop.is_set():
            try:
                self.poll_once()
                failures = 0
                self._wait_for_news(stop)
            except Exception as exc:  # the thread must survive anything
                failures += 1
                self._recover(exc, failures, stop)
        self.close()
        self.liveness.stopped()

    def _wait_for_news(self, stop: threading.Event) -> None:
        client = self._connected()
        if client.has_capability("IDLE"):
            self._idle(client, stop)
        else:
            stop.wait(self.settings.poll_interval)

    def _idle(self, client: IMAPClient, stop: threading.Event) -> None:
        client.idle()
        if not _input_already_buffered(client):
            self._await_server(client.socket(), stop)
        # DONE raises on a dead connection, which sends run() to reconnect;
        # whatever the server announced is read by the next poll anyway.
        client.idle_done()
        # The server answered DONE: a quiet mailbox in IDLE is a live one.
        self.liveness.alive("idle")

    def _await_server(self, sock: socket.socket, stop: threading.Event) -> None:
        """Return when the server says anything (or hangs up), on renewal time, or on stop."""
        deadline = time.monotonic() + self.settings.idle_renew_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([sock], [], [], min(remaining, _STOP_CHECK_SECONDS))
            if readable:
                return

    def _recover(self, exc: Exception, failures: int, stop: threading.Event) -> None:
        s = self.settings
        delay = backoff_delay(failures, s.backoff_initial, s.backoff_max)
        self.liveness.failed(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, StoreFailed):
            # The connection is fine; only the store needs time.
            log.error("%s; retrying in %.2fs", exc, delay)
        elif isinstance(exc, CONNECTION_ERRORS):
            self._drop()
            log.warning("IMAP session with %s:%s failed (%s: %s); reconnecting in %.2fs (attempt %d)",
                        s.host, s.port, type(exc).__name__, exc, delay, failures)
        else:
            self._drop()
            log.exception("IMAP poller failed unexpectedly; reconnecting in %.2fs", delay)
        stop.wait(delay)
