"""Group commit for inbound mail: messages finished on many SMTP sessions share one INSERT and one fsync."""

from __future__ import annotations

import asyncio
import logging

from mailflow.errors import StorageError
from mailflow.inbound.store import store_many, store_raw
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BATCH = 64
MAX_TURNS = 8

Item = tuple[bytes, str, "str | None", list[str]]


class GroupCommitter:
    """Stores messages on the SMTP server's event loop; each caller gets the stored row's id only after
    the commit.

    The first message of a batch waits while more keep arriving, one loop turn at a time (at most
    MAX_TURNS turns or MAX_BATCH messages), then the batch is written in the loop's own thread. A writer
    thread was measured slower: handing each message over and back cost more than the commit blocks the
    loop (one fsync, during which no session could get its 250 anyway). While another process holds
    SQLite's write lock the loop waits with it, up to the 30 s busy timeout: far inside the 10 minutes
    RFC 5321 gives a client to wait for the end of DATA. A session whose client hangs up meanwhile loses
    only its answer: the message is stored and the client's retry is deduplicated.
    """

    def __init__(self, rt: Runtime, max_batch: int = MAX_BATCH, max_turns: int = MAX_TURNS) -> None:
        self.rt = rt
        self.max_batch = max_batch
        self.max_turns = max_turns
        self._pending: list[tuple[Item, asyncio.Future[int]]] = []

    async def store(self, raw: bytes, door: str, envelope_from: str | None, envelope_to: list[str]) -> int:
        """The id of the committed row; StorageError when it could not be stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._gather, 0, 1)
        self._pending.append(((raw, door, envelope_from, envelope_to), future))
        return await future

    def _gather(self, turns: int, seen: int) -> None:
        count = len(self._pending)
        if seen < count < self.max_batch and turns < self.max_turns:  # still growing: one more turn
            asyncio.get_running_loop().call_soon(self._gather, turns + 1, count)
            return
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._gather, 0, len(self._pending))
        for (_, future), result in zip(batch, self.commit([item for item, _ in batch])):
            _settle(future, result)

    def commit(self, items: list[Item]) -> list[int | StorageError]:
        """One statement for all; when it fails, each message in its own savepoint so only a bad one fails."""
        try:
            # No BEGIN/COMMIT around it: the connection is in autocommit, so the one INSERT is its own
            # transaction, committed (and synced) when it returns; on PostgreSQL that is two round trips fewer.
            return list(store_many(self.rt, items))
        except Exception as exc:  # noqa: BLE001 - retried one by one below
            log.warning("inbound batch of %d failed (%s); storing one by one", len(items), exc)
            return self._one_by_one(items)

    def _one_by_one(self, items: list[Item]) -> list[int | StorageError]:
        try:
            with self.rt.db.atomic():
                return [_store(self.rt, item) for item in items]
        except Exception as exc:  # the door must outlive any batch: an exception here would hang every session
            log.error("inbound commit of %d message(s) failed: %s", len(items), exc)
            return [StorageError(f"could not store the message: {exc}")] * len(items)

    def close(self) -> None:
        self.rt.db.close()


def _store(rt: Runtime, item: Item) -> int | StorageError:
    try:  # each message in its own savepoint: one bad message does not sink the others
        return store_raw(rt, *item).id
    except StorageError as exc:
        return exc


def _settle(future: asyncio.Future[int], result: int | StorageError) -> None:
    if future.done():  # the session went away (its handler was cancelled)
        return
    if isinstance(result, StorageError):
        future.set_exception(result)
    else:
        future.set_result(result)
