"""Wakeups: a commit that creates work wakes the workers waiting for it, in this process and in others."""

from __future__ import annotations

import logging
import select
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import psycopg2
from peewee import Database, PostgresqlDatabase

from mailflow.db import database, is_postgres

log = logging.getLogger(__name__)

OUTBOX = "outbox"  # outbox rows and login requests: the delivery worker's
INBOUND = "inbound"  # stored inbound mail: the inbound worker's
TOPICS = (OUTBOX, INBOUND)
CHANNELS = {topic: f"mailflow_{topic}" for topic in TOPICS}  # PostgreSQL NOTIFY channels
RECONNECT_SECONDS = (0.5, 10.0)  # the listener's back-off after losing its connection: first, most


class Signal:
    """One waiting worker's flag: set by a wakeup, cleared when the worker wakes (before it looks)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        # Already set: the worker has not looked yet, and will see this commit when it does. Skipping the
        # Event's condition (a Python-level lock and notify) matters as the door's writer notifies every batch.
        if not self._event.is_set():
            self._event.set()

    def wait(self, timeout: float) -> bool:
        """Wait for a wakeup or `timeout`; True when woken. Cleared before the caller looks for work, so a
        commit notified after this point (always after its commit) is seen by that look or wakes it again."""
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken


class Hub:
    """This process's waiting workers by topic; notified after the commits that create their work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[Signal]] = {topic: set() for topic in TOPICS}
        self.writer_commits = 0  # commits of the SMTP door's writer, which looks for others itself
        self._writer_version: int | None = None  # `PRAGMA data_version` on the writer's connection after its last

    def subscribe(self, topic: str) -> Signal:
        signal = Signal()
        with self._lock:
            self._waiting[topic].add(signal)
        return signal

    def unsubscribe(self, topic: str, signal: Signal) -> None:
        with self._lock:
            self._waiting[topic].discard(signal)

    def notify(self, *topics: str) -> None:
        with self._lock:
            waiting = [signal for topic in topics for signal in self._waiting[topic]]
        for signal in waiting:
            signal.set()

    def notify_all(self) -> None:
        self.notify(*TOPICS)

    def writer_committed(self, data_version: int) -> None:
        """The SMTP door's writer committed on SQLite and then read `data_version` on its own connection.

        That value changes only when another connection commits, never for the writer's own commits: so the
        writer sees other processes' commits exactly, where `ChangeWatcher` would see its own too and wake
        every worker several times a second for nothing while mail comes in (the delivery worker's look for
        work cost a tenth of a millisecond for each message received). The watcher leaves such spells to it.
        """
        if self._writer_version is not None and data_version != self._writer_version:
            self.notify_all()  # another process (or another thread here) committed since the writer's last commit
        self._writer_version = data_version
        self.writer_commits += 1


# The hub of each open database: the write sites know the database (a process-wide proxy), not the runtime.
_hubs: "weakref.WeakKeyDictionary[Database, Hub]" = weakref.WeakKeyDictionary()


def hub_for(db: Database) -> Hub:
    """The hub whose workers wait for work written to `db` (made on first use; the Runtime holds it)."""
    return _hubs.setdefault(db, Hub())


def announce(topic: str) -> None:
    """Say that work for `topic` was written: call it inside the transaction that wrote it, or right after a
    statement that committed on its own. This process's workers wake after the commit; on PostgreSQL other
    processes' too, through NOTIFY, which the server delivers on commit (SQLite's: see `ChangeWatcher`)."""
    if is_postgres():
        database.execute_sql("SELECT pg_notify(%s, '')", (CHANNELS[topic],))
    hub = _hubs.get(database.obj)
    if hub is not None:
        database.after_commit(partial(hub.notify, topic))


class PostgresListener:
    """LISTENs on its own connection and wakes this process's workers for other processes' commits."""

    def __init__(self, hub: Hub, url: str, timeout: float = 0.5) -> None:
        self.hub, self.url, self.timeout = hub, url, timeout
        self._stop = threading.Event()

    def run(self) -> None:
        delay = RECONNECT_SECONDS[0]
        while not self._stop.is_set():
            try:
                self._listen()
                delay = RECONNECT_SECONDS[0]
            except psycopg2.Error as exc:  # the server restarted or the network dropped: the poll covers it
                log.warning("wakeup listener lost its connection (%s); retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
                delay = min(RECONNECT_SECONDS[1], delay * 2)

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        with _connection(self.url) as conn:
            conn.cursor().execute("; ".join(f"LISTEN {channel}" for channel in CHANNELS.values()))
            self.hub.notify_all()  # whatever was committed while nobody listened
            while not self._stop.is_set():
                if select.select([conn], [], [], self.timeout)[0]:
                    self._deliver(conn)

    def _deliver(self, conn) -> None:
        conn.poll()
        channels = {note.channel for note in conn.notifies}
        conn.notifies.clear()
        self.hub.notify(*[topic for topic, channel in CHANNELS.items() if channel in channels])


@contextmanager
def _connection(url: str) -> Iterator:
    conn = psycopg2.connect(url)
    conn.autocommit = True  # LISTEN takes effect at once; notifications arrive between transactions only
    try:
        yield conn
    finally:
        conn.close()


class ChangeWatcher:
    """SQLite has no NOTIFY: `PRAGMA data_version` on a connection of its own changes whenever any other
    connection commits, in this process or another (a CLI command, `inbound deliver`). Reading it touches no
    table and takes no lock, so it is checked every `interval` seconds and wakes every worker on a change."""

    def __init__(self, hub: Hub, path: str, interval: float) -> None:
        self.hub, self.path, self.interval = hub, path, interval
        self._stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            seen, writer_commits = _data_version(conn), self.hub.writer_commits
            while not self._stop.wait(self.interval):
                if self.hub.writer_commits != writer_commits:
                    # The door's writer committed meanwhile and looks for other commits itself (Hub.writer_committed).
                    # `seen` stays: once it is quiet for an interval, every change since wakes the workers once.
                    writer_commits = self.hub.writer_commits
                    continue
                now = _data_version(conn)
                if now != seen:
                    seen = now
                    self.hub.notify_all()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()


def _data_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA data_version").fetchone()[0]


@contextmanager
def listening(hub: Hub, db: Database, url: str, interval: float) -> Iterator[None]:
    """Wake `hub`'s workers for other processes' commits while the block runs (`serve` does it)."""
    source = PostgresListener(hub, url) if isinstance(db, PostgresqlDatabase) else ChangeWatcher(
        hub, db.database, interval)
    thread = threading.Thread(target=source.run, name="wakeup-listener", daemon=True)
    thread.start()
    try:
        yield
    finally:
        source.stop()
        thread.join(5)
