"""The IMAP poller against a real, private Dovecot: store first, file after, lose nothing."""

from __future__ import annotations

import email
import imaplib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from mailflow.inbound.imap_poller import (
    ImapPoller,
    ImapSettings,
    PollerState,
    StoreFailed,
    backoff_delay,
    new_uids,
    transfer_method,
)
from tests.support.dovecot import (  # noqa: F401, F811 (dovecot_server is a fixture)
    DovecotServer,
    dovecot_server,
    dovecot_server_factory,
    free_port,
)

pytestmark = pytest.mark.dovecot

POLLER_LOG = "mailflow.inbound.imap_poller"
WAIT_SECONDS = 30.0


class MemoryState(PollerState):
    def __init__(self) -> None:
        self.saved: dict[str, tuple[int, int]] = {}

    def load(self, key: str) -> tuple[int | None, int]:
        return self.saved.get(key, (None, 0))

    def save(self, key: str, uidvalidity: int, last_uid: int) -> None:
        self.saved[key] = (uidvalidity, last_uid)


class DedupStore:
    """Keeps one copy per Message-ID, like the real inbound store; can be told to fail."""

    def __init__(self) -> None:
        self.messages: dict[str, bytes] = {}
        self.handed: list[str] = []
        self.fail_before: Counter[str] = Counter()  # raise N times, storing nothing
        self.fail_after: set[str] = set()  # store durably, then raise once (crash before ack)
        self._lock = threading.Lock()

    def __call__(self, raw: bytes) -> None:
        mid = message_id(raw)
        with self._lock:
            self.handed.append(mid)
            if self.fail_before[mid] > 0:
                self.fail_before[mid] -= 1
                raise RuntimeError("database unavailable")
            self.messages.setdefault(mid, raw)
            if mid in self.fail_after:
                self.fail_after.discard(mid)
                raise RuntimeError("crashed after commit")

    def count(self) -> int:
        with self._lock:
            return len(self.messages)


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)["Message-ID"])


def make_message(n: int) -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.com>\r\n"
        "To: support@mailflow.example\r\n"
        f"Subject: Question {n}\r\n"
        f"Message-ID: <msg-{n}@test.mailflow>\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n"
        "\r\n"
        f"Where is invoice F2026-{n:04d}?\r\n"
    ).encode()


def settings_for(server: DovecotServer, **overrides: object) -> ImapSettings:
    values: dict[str, object] = dict(
        host=server.host, port=server.port, ssl=False, username=server.user,
        password=server.password, timeout=10, backoff_initial=0.05, backoff_max=0.4,
    )
    values.update(overrides)
    return ImapSettings(**values)  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def assert_each_stored_once(store: DedupStore, server: DovecotServer, raws: list[bytes]) -> None:
    assert store.messages == {message_id(raw): raw for raw in raws}
    assert sorted(server.fetch_all("Processed")) == sorted(raws)
    assert server.uids("INBOX") == []


def poll_until_connected(poller: ImapPoller) -> tuple[int, int]:
    """(stored, connection errors seen): a dead connection fails one poll, then reconnects."""
    errors = 0
    while True:
        try:
            return poller.poll_once(), errors
        except (OSError, imaplib.IMAP4.error):
            errors += 1
            if errors > 5:
                raise


@pytest.fixture
def store() -> DedupStore:
    return DedupStore()


@pytest.fixture
def state() -> MemoryState:
    return MemoryState()


@pytest.fixture
def make_poller(store: DedupStore, state: MemoryState) -> Iterator[Callable[..., ImapPoller]]:
    pollers: list[ImapPoller] = []

    def make(server: DovecotServer, **overrides: object) -> ImapPoller:
        pollers.append(ImapPoller(settings_for(server, **overrides), store, state))
        return pollers[-1]

    yield make
    for poller in pollers:
        poller.close()


class PollerThread:
    """run() in a background thread, stopped and joined by the test."""

    def __init__(self, poller: ImapPoller) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=poller.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.stop.set()
        self.thread.join(WAIT_SECONDS)
        assert not self.thread.is_alive(), "run() did not stop"


def reconnect_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in list(caplog.records)
            if r.name == POLLER_LOG and "reconnecting" in r.getMessage()]


def backoff_of(message: str) -> float:
    return float(message.split("reconnecting in ")[1].split("s ")[0])


# -- pure helpers --------------------------------------------------------------


def test_new_uids_ignores_the_star_quirk_and_sorts() -> None:
    # `UID SEARCH UID 8:*` on a folder whose highest UID is 5 answers 5.
    assert new_uids([5], last_uid=7) == []
    assert new_uids([9, 8, 3], last_uid=7) == [8, 9]


def test_transfer_method_follows_the_move_capability() -> None:
    assert transfer_method([b"IMAP4REV1", b"MOVE", b"IDLE"]) == "move"
    assert transfer_method([b"IMAP4REV1", b"move"]) == "move"
    assert transfer_method([b"IMAP4REV1", b"UIDPLUS", b"IDLE"]) == "copy"


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff_delay(n, initial=1.0, maximum=300.0) for n in range(1, 12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == 300.0
    assert delays == sorted(delays)


def test_default_idle_renewal_is_well_before_the_29_minute_cutoff() -> None:
    settings = ImapSettings(host="h", port=993, ssl=True, username="u", password="p")
    assert settings.idle_renew_seconds < 29 * 60 / 2


# -- one poll at a time --------------------------------------------------------


def test_new_messages_are_stored_in_order_then_seen_and_moved(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller],
    store: DedupStore, state: MemoryState,
) -> None:
    raws = [make_message(n) for n in range(1, 4)]
    for raw in raws:
        dovecot_server.append(raw)
    poller = make_poller(dovecot_server)

    assert poller.poll_once() == 3

    assert store.handed == [message_id(raw) for raw in raws]
    assert_each_stored_once(store, dovecot_server, raws)
    assert all(b"\\Seen" in flags for flags in dovecot_server.flags("Processed").values())
    assert state.load(poller.state_key) == (dovecot_server.uidvalidity(), 3)
    assert poller.last_poll_at is not None and poller.last_poll_at.utcoffset() is not None


def test_polling_again_stores_nothing_twice(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller], store: DedupStore,
) -> None:
    raws = [make_message(n) for n in range(1, 3)]
    for raw in raws:
        dovecot_server.append(raw)
    poller = make_poller(dovecot_server)
    assert poller.poll_once() == 2
    assert poller.poll_once() == 0

    raws.append(make_message(3))
    dovecot_server.append(raws[-1])
    assert poller.poll_once() == 1
    # A fresh poller with the same saved state (process restart) finds nothing new.
    assert make_poller(dovecot_server).poll_once() == 0

    assert store.handed == [message_id(raw) for raw in raws]
    assert_each_stored_once(store, dovecot_server, raws)


def test_failing_store_leaves_the_message_unflagged_in_the_inbox_until_next_poll(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller], store: DedupStore,
) -> None:
    raws = [make_message(n) for n in range(1, 4)]
    for raw in raws:
        dovecot_server.append(raw)
    store.fail_before[message_id(raws[1])] = 1
    poller = make_poller(dovecot_server)

    with pytest.raises(StoreFailed):
        poller.poll_once()

    assert list(store.messages) == [message_id(raws[0])]
    assert dovecot_server.fetch_all("INBOX") == raws[1:]
    assert all(b"\\Seen" not in flags for flags in dovecot_server.flags("INBOX").values())

    assert poller.poll_once() == 2
    assert_each_stored_once(store, dovecot_server, raws)


@pytest.mark.parametrize("hard", [False, True], ids=["graceful-restart", "killed-and-started"])
def test_server_restart_between_polls_reconnects_and_loses_nothing(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller],
    store: DedupStore, hard: bool,
) -> None:
    raws = [make_message(n) for n in range(1, 5)]
    for raw in raws[:2]:
        dovecot_server.append(raw)
    poller = make_poller(dovecot_server)
    assert poller.poll_once() == 2

    dovecot_server.restart(hard=hard)
    for raw in raws[2:]:
        dovecot_server.append(raw)

    stored, errors = poll_until_connected(poller)
    assert (stored, errors) == (2, 1)
    assert poller.poll_once() == 0
    assert Counter(store.handed) == Counter(message_id(raw) for raw in raws)
    assert_each_stored_once(store, dovecot_server, raws)


def test_uidvalidity_change_rescans_and_the_store_dedups(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller],
    store: DedupStore, state: MemoryState,
) -> None:
    raws = [make_message(n) for n in range(1, 6)]
    for raw in raws[:3]:
        dovecot_server.append(raw)
    poller = make_poller(dovecot_server)
    assert poller.poll_once() == 3

    # Message 4 is committed but the poller dies before flagging it.
    for raw in raws[3:]:
        dovecot_server.append(raw)
    store.fail_after.add(message_id(raws[3]))
    with pytest.raises(StoreFailed):
        poller.poll_once()
    poller.close()

    # Renumbered from UID 1 under a new UIDVALIDITY: both now sit below last_uid 3.
    new_validity = dovecot_server.reset_uidvalidity()
    assert dovecot_server.uids("INBOX") == [1, 2]

    assert poller.poll_once() == 2
    assert state.load(poller.state_key) == (new_validity, 2)
    assert Counter(store.handed)[message_id(raws[3])] == 2
    assert_each_stored_once(store, dovecot_server, raws)


# -- servers without MOVE / IDLE -----------------------------------------------


@pytest.fixture
def limited_server(request: pytest.FixtureRequest) -> Iterator[DovecotServer]:
    # No autocreated folder: the poller must create processed_folder itself.
    yield from dovecot_server_factory(imap_capability=request.param, autocreate=())


@pytest.mark.parametrize(
    "limited_server", ["IMAP4rev1 IDLE UIDPLUS", "IMAP4rev1"],
    indirect=True, ids=["copy-uid-expunge", "copy-expunge"],
)
def test_without_move_copies_flags_deleted_and_expunges(
    limited_server: DovecotServer, make_poller: Callable[..., ImapPoller], store: DedupStore,
) -> None:
    with limited_server.connect() as client:
        assert b"MOVE" not in client.capabilities()
    raws = [make_message(n) for n in range(1, 4)]
    for raw in raws:
        limited_server.append(raw)
    poller = make_poller(limited_server, processed_folder="Archive")

    assert poller.poll_once() == 3

    assert "Archive" in limited_server.folders()
    assert store.messages == {message_id(raw): raw for raw in raws}
    assert sorted(limited_server.fetch_all("Archive")) == sorted(raws)
    assert limited_server.uids("INBOX") == []


@pytest.mark.parametrize("limited_server", ["IMAP4rev1 UIDPLUS"], indirect=True)
def test_run_without_idle_polls_on_an_interval(
    limited_server: DovecotServer, make_poller: Callable[..., ImapPoller], store: DedupStore,
) -> None:
    raws = [make_message(n) for n in range(1, 4)]
    limited_server.append(raws[0])
    runner = PollerThread(make_poller(limited_server, poll_interval=0.05))
    try:
        wait_until(lambda: store.count() == 1, "first message stored")
        for raw in raws[1:]:
            limited_server.append(raw)
        wait_until(lambda: store.count() == 3, "later messages stored")
    finally:
        runner.join()
    assert store.messages == {message_id(raw): raw for raw in raws}
    assert sorted(limited_server.fetch_all("Processed")) == sorted(raws)


# -- run() in a thread ---------------------------------------------------------


def test_run_uses_idle_and_survives_a_restart_mid_session(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller],
    store: DedupStore, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=POLLER_LOG)
    raws = [make_message(n) for n in range(1, 7)]
    # A long poll interval: only IDLE can make the later messages arrive in time.
    runner = PollerThread(make_poller(dovecot_server, poll_interval=3600))
    try:
        for raw in raws[:2]:
            dovecot_server.append(raw)
        wait_until(lambda: store.count() == 2, "messages seen through IDLE")

        dovecot_server.restart()
        wait_until(lambda: len(reconnect_warnings(caplog)) >= 1, "restart noticed")
        for raw in raws[2:4]:
            dovecot_server.append(raw)
        wait_until(lambda: store.count() == 4, "messages after a graceful restart")

        seen = len(reconnect_warnings(caplog))
        dovecot_server.kill()
        # Down for a while: several refused attempts, each logged with a longer delay.
        wait_until(lambda: len(reconnect_warnings(caplog)) >= seen + 4, "retries while down")
        dovecot_server.start()
        for raw in raws[4:]:
            dovecot_server.append(raw)
        wait_until(lambda: store.count() == 6, "messages after a crash")
    finally:
        runner.join()

    # A kill between storing and moving hands that message again; the store dedups.
    assert set(store.handed) == {message_id(raw) for raw in raws}
    assert store.messages == {message_id(raw): raw for raw in raws}
    assert dovecot_server.uids("INBOX") == []
    # SIGKILL can interrupt Dovecot's MOVE after its copy and before its expunge,
    # so the processed folder (not the store) may hold a message twice.
    assert set(dovecot_server.fetch_all("Processed")) == set(raws)
    delays = [backoff_of(message) for message in reconnect_warnings(caplog)[seen:]]
    # Doubling from 0.05 up to the 0.4 cap (the first step may be skipped if the
    # kill interrupted the very poll that followed the graceful restart).
    assert delays == sorted(delays) and len(set(delays)) >= 2
    assert delays[-1] == 0.4


def test_run_renews_idle_and_still_sees_new_mail(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller],
    store: DedupStore, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="imapclient.imaplib")

    def idles_sent() -> int:
        return sum(r.getMessage().endswith(" IDLE'") for r in list(caplog.records))

    runner = PollerThread(make_poller(dovecot_server, idle_renew_seconds=1, poll_interval=3600))
    try:
        wait_until(lambda: idles_sent() >= 3, "IDLE renewed twice")
        dovecot_server.append(make_message(1))
        wait_until(lambda: store.count() == 1, "message seen after renewals")
    finally:
        runner.join()
    assert_each_stored_once(store, dovecot_server, [make_message(1)])


def test_run_retries_a_failing_store_without_new_mail(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller], store: DedupStore,
) -> None:
    raw = make_message(1)
    store.fail_before[message_id(raw)] = 3
    dovecot_server.append(raw)
    runner = PollerThread(make_poller(dovecot_server, poll_interval=3600))
    try:
        wait_until(lambda: store.count() == 1, "stored once the store recovers")
    finally:
        runner.join()
    assert store.handed == [message_id(raw)] * 4
    assert_each_stored_once(store, dovecot_server, [raw])


@pytest.mark.parametrize("problem", ["nobody-listening", "wrong-password"])
def test_run_never_raises_and_keeps_retrying(
    dovecot_server: DovecotServer, make_poller: Callable[..., ImapPoller],
    caplog: pytest.LogCaptureFixture, problem: str,
) -> None:
    caplog.set_level(logging.INFO, logger=POLLER_LOG)
    overrides = {"port": free_port()} if problem == "nobody-listening" else {"password": "wrong"}
    poller = make_poller(dovecot_server, **overrides)
    runner = PollerThread(poller)
    try:
        wait_until(lambda: len(reconnect_warnings(caplog)) >= 2, "two failed attempts")
    finally:
        runner.join()
    assert poller.last_poll_at is None
