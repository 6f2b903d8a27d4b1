"""Group commit for inbound mail: one writer thread stores what many SMTP sessions received, one INSERT a batch."""

from __future__ import annotations

import asyncio
import io
import logging
import queue
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import BinaryIO

from mailflow import events, wakeup
from mailflow.db import is_busy, is_postgres, retrying
from mailflow.errors import StorageError
from mailflow.inbound.store import store_many, store_raw
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BATCH = 64
MAX_BATCH_BYTES = 16 << 20  # a batch is all in memory at once, and the driver copies it several times over
LARGE_BYTES = 1 << 20  # a batch or message this big holds `GroupCommitter.large` (one such in memory at a time)

Item = tuple[bytes, str, "str | None", list[str], "str | None", "str | None"]  # … client address, HELO


@dataclass(eq=False)  # each job is itself: the queue removes it by identity
class Job:
    """One received message waiting for the writer; `spool` is the writer's to read and close."""

    spool: BinaryIO
    size: int
    door: str
    envelope_from: str | None
    envelope_to: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int] = field(repr=False)
    client_ip: str | None = None  # the SMTP client's, for the SPF check
    helo: str | None = None


class GroupCommitter:
    """Stores messages on its own thread, so the SMTP event loop never waits for the database; each
    session gets the stored row's id only after the commit.

    The writer takes what is queued when it wakes (at most `max_batch` messages and `max_bytes` bytes,
    always at least one) and writes it with one INSERT: while it commits, the next batch gathers. Only
    there is a message read into memory from its spool. A busy database is retried with back-off; the
    sessions meanwhile wait up to their own bound (see InboundHandler), never the event loop.
    """

    def __init__(self, rt: Runtime, max_batch: int = MAX_BATCH, max_bytes: int = MAX_BATCH_BYTES) -> None:
        self.rt = rt
        self.max_batch = max_batch
        self.max_bytes = max_bytes
        # A SimpleQueue hands each job over in C, without the Python-level locking of a Condition: submit runs
        # on the event loop for every message, and at one connection the writer sleeps and wakes for each one.
        self._inbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()  # None: stop once what came before is in
        self._pending: list[Job] = []  # taken from the inbox, not written yet (only the writer touches it)
        self._gate = threading.Lock()  # makes "refused once stopping" and "queued before the stop" exclusive
        self._stopping = False
        self._stop_seen = False  # the writer took the stop mark from the inbox (only the writer touches it)
        self._thread: threading.Thread | None = None
        # Held while a large batch is written, and by the inbound worker of the process while it reads a large
        # message, so their copies never add up: psycopg2 alone makes some four of a bytea (escaped, quoted,
        # sent); a 20 MiB message costs the writer ~100 MiB on PostgreSQL and the worker ~60 MiB.
        self.large = threading.Lock()

    def start(self) -> "GroupCommitter":
        self._thread = threading.Thread(target=self._run, name="inbound-commit", daemon=True)
        self._thread.start()
        return self

    def submit(self, spool: BinaryIO, size: int, door: str, envelope_from: str | None,
               envelope_to: list[str], client_ip: str | None = None, helo: str | None = None) -> asyncio.Future[int]:
        """Queue a message (called on the event loop); the future gets its row id, or a StorageError."""
        loop = asyncio.get_running_loop()
        job = Job(spool, size, door, envelope_from, envelope_to, loop, loop.create_future(), client_ip, helo)
        with self._gate:
            if not self._stopping:
                self._inbox.put(job)
                return job.future
        spool.close()
        job.future.set_exception(StorageError("the inbound door is shutting down"))
        return job.future

    async def store(self, raw: bytes, door: str, envelope_from: str | None, envelope_to: list[str]) -> int:
        """The id of the committed row; StorageError when it could not be stored."""
        return await self.submit(io.BytesIO(raw), len(raw), door, envelope_from, envelope_to)

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then end the writer (waiting at most `timeout` seconds for it)."""
        with self._gate:
            if not self._stopping:
                self._stopping = True
                self._inbox.put(None)  # after every job already queued: those are committed first
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("inbound commit thread still busy after %.0f s; leaving it", timeout)

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                self._guarded_write(batch)
        finally:  # the writer's own connection, opened on its first statement
            self.rt.db.close()

    def _guarded_write(self, batch: list[Job]) -> None:
        try:
            self._write(batch)
        except Exception as exc:  # the writer must outlive any batch: if it died, every later session would wait
            log.exception("inbound commit of %d message(s) failed", len(batch))
            _settle_soon(batch, [StorageError(f"could not store the message: {exc}")] * len(batch))

    def _take(self) -> list[Job] | None:
        """What is queued, within the bounds; None once the stop came and nothing is left before it."""
        if not self._pending and not self._stop_seen:
            self._keep(self._inbox.get())  # the writer sleeps only with nothing in hand
        while True:  # and whatever else arrived meanwhile: the group of a group commit
            try:
                self._keep(self._inbox.get_nowait())
            except queue.Empty:
                break
        batch = self._pick()
        taken = set(batch)
        self._pending = [job for job in self._pending if job not in taken]
        return batch or None

    def _keep(self, job: Job | None) -> None:
        """Hold `job` for a batch; None is the stop, after which nothing more is queued (see `stop`)."""
        if job is None:
            self._stop_seen = True
        else:
            self._pending.append(job)

    def _pick(self) -> list[Job]:
        """Smallest first: a short reply must not wait behind twenty 20 MB attachments (on PostgreSQL each
        takes half a second to write). A large message waits at most for the small ones queued with it: at
        most `max_concurrent_data` sessions are in DATA, so those fit in a batch or two."""
        batch, size = [], 0
        for job in sorted(self._pending, key=lambda job: job.size):
            if len(batch) == self.max_batch or (batch and size + job.size > self.max_bytes):
                break
            batch.append(job)
            size += job.size
        return batch

    def _write(self, batch: list[Job]) -> None:
        try:
            with self.large if sum(job.size for job in batch) >= LARGE_BYTES else nullcontext():
                results = self.commit([_item(job) for job in batch])
        except OSError as exc:  # a spool that cannot be read back: the sessions must still hear
            log.error("inbound commit of %d message(s) failed: %s", len(batch), exc)
            results = [StorageError(f"could not store the message: {exc}")] * len(batch)
        finally:
            for job in batch:
                job.spool.close()
        # The sessions hear first: their 250s are what the senders wait for, while waking the inbound worker
        # and the log lines (~70 µs a message, masked and written) can follow as the loop sends the answers.
        _settle_soon(batch, results)
        if any(isinstance(result, int) for result in results):
            self.rt.wakeups.notify(wakeup.INBOUND)  # committed: the inbound worker of this process takes it
        events.stored_jobs(batch, results)
        if any(isinstance(result, int) for result in results):
            self._look_for_others()

    def _look_for_others(self) -> None:
        """SQLite: tell the hub this connection's data_version, which only other connections' commits change,
        so that the process's change watcher need not take the writer's own commits for other processes'."""
        if not is_postgres():
            self.rt.wakeups.writer_committed(self.rt.db.connection().execute("PRAGMA data_version").fetchone()[0])

    def commit(self, items: list[Item]) -> list[int | StorageError]:
        """One statement for all; when it fails, each message in its own savepoint so only a bad one fails."""
        try:
            # No BEGIN/COMMIT around it: the connection is in autocommit, so the one INSERT is its own
            # transaction, committed (and synced) when it returns; on PostgreSQL that is two round trips fewer.
            return list(retrying(lambda: store_many(self.rt, items), "inbound batch"))
        except Exception as exc:  # noqa: BLE001 - retried one by one below
            if _busy(exc):  # one by one would only wait as long again, for each message
                return [StorageError(f"could not store the message: {exc}")] * len(items)
            log.warning("inbound batch of %d failed (%s); storing one by one", len(items), exc)
            return self._one_by_one(items)

    def _one_by_one(self, items: list[Item]) -> list[int | StorageError]:
        def attempt() -> list[int | StorageError]:
            with self.rt.db.atomic():
                return [_store(self.rt, item) for item in items]
        try:
            return retrying(attempt, "inbound messages one by one")
        except Exception as exc:  # the door must outlive any batch: an exception here would hang every session
            log.error("inbound commit of %d message(s) failed: %s", len(items), exc)
            return [StorageError(f"could not store the message: {exc}")] * len(items)


def _item(job: Job) -> Item:
    """The message's bytes, read from its spool only now, in the writer."""
    job.spool.seek(0)
    return job.spool.read(), job.door, job.envelope_from, job.envelope_to, job.client_ip, job.helo


def _store(rt: Runtime, item: Item) -> int | StorageError:
    try:  # each message in its own savepoint: one bad message does not sink the others
        return store_raw(rt, *item).id
    except StorageError as exc:
        return exc


def _busy(exc: BaseException) -> bool:
    return is_busy(exc) or (exc.__cause__ is not None and is_busy(exc.__cause__))


def _settle_soon(batch: list[Job], results: list[int | StorageError]) -> None:
    """Hand the results to each loop at once: one wake-up of the loop per batch, not per message."""
    for loop in {job.loop for job in batch}:
        settled = [(job.future, result) for job, result in zip(batch, results) if job.loop is loop]
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # the loop is closed: the server stopped and its sessions are gone
            log.debug("inbound commit finished after its server stopped")


def _settle(settled: list[tuple[asyncio.Future[int], int | StorageError]]) -> None:
    for future, result in settled:
        if future.done():  # the session went away (its handler was cancelled)
            continue
        if isinstance(result, StorageError):
            future.set_exception(result)
        else:
            future.set_result(result)
