"""Group commit for inbound mail: messages arriving on many SMTP sessions share one transaction and one fsync."""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from mailflow.errors import StorageError
from mailflow.inbound.store import store_many, store_raw
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BATCH = 64


@dataclass
class _Job:
    raw: bytes
    door: str
    envelope_from: str | None
    envelope_to: list[str]
    future: Future = field(default_factory=Future)

    @property
    def item(self) -> tuple[bytes, str, str | None, list[str]]:
        return self.raw, self.door, self.envelope_from, self.envelope_to


class GroupCommitter:
    """One writer thread with one open connection; each caller's future resolves to the stored row's id
    only after the commit."""

    def __init__(self, rt: Runtime, max_batch: int = MAX_BATCH) -> None:
        self.rt = rt
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="inbound-commit", daemon=True)

    def start(self) -> "GroupCommitter":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(30)

    def submit(self, raw: bytes, door: str, envelope_from: str | None, envelope_to: list[str]) -> Future:
        job = _Job(raw, door, envelope_from, envelope_to)
        self._queue.put(job)
        return job.future

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            self._commit([first, *self._drain()])
        self.rt.db.close()

    def _drain(self) -> list[_Job]:
        batch: list[_Job] = []
        while len(batch) < self.max_batch - 1:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(job)
        return batch

    def _commit(self, batch: list[_Job]) -> None:
        try:
            with self.rt.db.atomic():
                results: list[int | StorageError] = list(store_many(self.rt, [job.item for job in batch]))
        except Exception as exc:  # noqa: BLE001 - retried one by one below, so only the bad message fails
            log.warning("inbound batch of %d failed (%s); storing one by one", len(batch), exc)
            results = self._one_by_one(batch)
        for job, result in zip(batch, results):
            _settle(job.future, result)

    def _one_by_one(self, batch: list[_Job]) -> list[int | StorageError]:
        try:
            with self.rt.db.atomic():
                return [self._store(job) for job in batch]
        except Exception as exc:  # the writer must outlive any batch: without it every later session hangs
            log.error("inbound commit of %d message(s) failed: %s", len(batch), exc)
            return [StorageError(f"could not store the message: {exc}")] * len(batch)

    def _store(self, job: _Job) -> int | StorageError:
        try:  # each message in its own savepoint: one bad message does not sink the others
            return store_raw(self.rt, *job.item).id
        except StorageError as exc:
            return exc


def _settle(future: Future, result: int | StorageError) -> None:
    if isinstance(result, StorageError):
        future.set_exception(result)
    else:
        future.set_result(result)
