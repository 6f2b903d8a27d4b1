"""What every worker shares: the lease claim, its heartbeat and the loop (wait for work, run a batch, go on)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from peewee import Field, Model, ModelSelect

from mailflow.db import database, is_postgres

if TYPE_CHECKING:  # the runtime's modules use the claim: importing it here would be circular
    from mailflow.runtime import Runtime

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)
BEATS_PER_LEASE = 3  # a lease survives two renewals that fail or come late before another worker takes it


def worker_name() -> str:
    """Who holds a lease: host, process and this worker, unique even for two workers of one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(model: type[M], claimable: ModelSelect, changes: dict[str, object],
          returning: Sequence[Field] = ()) -> list[M]:
    """Set `changes` on the rows whose ids `claimable` selects and return them (`returning` columns, all by
    default), in id order: one UPDATE … WHERE id IN (SELECT …) RETURNING, atomic on its own.

    PostgreSQL: the SELECT locks FOR UPDATE SKIP LOCKED, so concurrent workers take different rows instead
    of waiting on each other. SQLite: a read first (readers take no lock in WAL mode), so that a wakeup or a
    poll that finds nothing does not queue for the write lock behind the SMTP door's commits.
    """
    if is_postgres():
        claimable = claimable.for_update(skip_locked=True)
    elif not claimable.exists():
        return []
    query = (model.update(**changes).where(model._meta.primary_key.in_(claimable))
             .returning(*(returning or model._meta.sorted_fields)))
    with database.atomic():
        rows = list(query.objects(model).execute())
    return sorted(rows, key=lambda row: row.get_id())


def run(rt: Runtime, name: str, batch: Callable[[], bool], topic: str, poll_seconds: float,
        stop: threading.Event) -> None:
    """Run `batch` until `stop`: again at once while it finds work (it returns True), else after a wakeup
    for `topic` or `poll_seconds` (retries coming due, expired leases, a wakeup missed while disconnected).

    A batch that raises is logged and the loop goes on: one broken batch or a database away for a moment
    must never end a worker. `serve` wakes every worker when it stops; with another `stop`, the loop notices
    it within `poll_seconds`. The thread's database connection is closed at the end.
    """
    hub = rt.wakeups
    signal = hub.subscribe(topic)  # before the first look: nothing committed after it goes unnoticed
    try:
        while not stop.is_set():
            if not _contained(name, batch):
                signal.wait(poll_seconds)
    finally:
        hub.unsubscribe(topic, signal)
        rt.db.close()


def _contained(name: str, batch: Callable[[], bool]) -> bool:
    try:
        return batch()
    except Exception:  # noqa: BLE001 - logged with its traceback; the next round tries again
        log.exception("%s batch failed", name)
        return False


class Lease:
    """What a worker knows of the leases of its batch: which rows it still holds, and since when for sure.

    `renew` pushes the leases forward in one small UPDATE and returns the ids the worker still holds. A row
    missing from them, or any row once no renewal has succeeded for a whole lease (the database away), may be
    another worker's by now and must not be worked on any further.
    """

    def __init__(self, renew: Callable[[], Collection[int]], lease_seconds: float, held: Iterable[int]) -> None:
        self._renew = renew
        self.seconds = lease_seconds
        self.period = lease_seconds / BEATS_PER_LEASE
        self.held = set(held)
        self.renewed_at = time.monotonic()  # just after the claim, which set the first lease

    def holds(self, row_id: int) -> bool:
        return row_id in self.held and time.monotonic() - self.renewed_at < self.seconds

    def renew(self) -> None:
        started = time.monotonic()  # the new lease counts from before the UPDATE, to be safe
        self.held = set(self._renew())
        self.renewed_at = started


class Heartbeat:
    """Renews a lease every third of it from a thread of its own while the worker processes its batch.

    A live worker thus keeps its rows however long one message takes, so the lease can be short and a dead
    worker's rows are taken over within one lease. `guard` is held around each renewal: the worker holds it
    around its own writes to those rows, so that the two never wait for each other's row locks (a deadlock on
    PostgreSQL). The thread touches the database only once a beat is due: a short batch costs no connection.
    """

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.lease.period):
                self._beat()
        finally:
            database.close()  # this thread's own connection, if a beat opened one

    def _beat(self) -> None:
        try:
            with self.guard:
                self.lease.renew()
        except Exception:  # noqa: BLE001 - the next beat tries again; the lease has room for two misses
            log.exception("renewing leases failed")
