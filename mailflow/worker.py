"""What every worker shares: the lease claim and the loop (wait for a wakeup or the poll, run a batch, go on)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from peewee import Field, Model, ModelSelect

from mailflow.db import database, is_postgres

if TYPE_CHECKING:  # the runtime's modules use the claim: importing it here would be circular
    from mailflow.runtime import Runtime

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)


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
