"""Database handle: one proxy bound at start-up to SQLite or PostgreSQL, nothing at import; busy retries."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from peewee import (Database, DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase,
                    SqliteDatabase)

from mailflow.errors import ConfigError, StorageError
from mailflow.masking import masked

log = logging.getLogger(__name__)
database = DatabaseProxy()
T = TypeVar("T")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # FULL: a committed transaction survives power loss, which "250 only after commit" needs.
    "synchronous": "full",
    "cache_size": -32_000,
}
# SQLite answers "busy" to a transaction that read, then wants to write after another writer committed,
# at once and whatever the busy timeout: every transaction therefore starts as a writer (BEGIN IMMEDIATE).
SQLITE_LOCK = "IMMEDIATE"
# PostgreSQL's word for the same: a serialization failure, a deadlock or a lock not granted.
_PG_BUSY_CODES = ("40001", "40P01", "55P03")
_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")
RETRIES = 6
FIRST_DELAY = 0.05
MAX_DELAY = 2.0


def open_database(url: str, root: Path, busy_timeout: float = 15.0) -> Database:
    """Bind the proxy to the configured database and return it (connecting is `connect`'s job)."""
    db = _make(url, root, busy_timeout)
    database.initialize(db)
    return db


def _make(url: str, root: Path, busy_timeout: float) -> Database:
    if url.startswith("sqlite:///"):
        path = sqlite_path(url, root)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a folder that cannot be made: as unreachable as a server that is down
            raise StorageError(f"database unreachable ({url}): {first_line(exc)}") from exc
        pragmas = SQLITE_PRAGMAS | {"busy_timeout": int(busy_timeout * 1000)}
        return SqliteDatabase(str(path), pragmas=pragmas, timeout=busy_timeout, lock_type=SQLITE_LOCK)
    parts = urlparse(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"[database] url has an unknown scheme {parts.scheme!r}")
    return PostgresqlDatabase(
        parts.path.lstrip("/"), user=parts.username, password=parts.password,
        host=parts.hostname, port=parts.port or 5432)


def sqlite_path(url: str, root: Path) -> Path:
    """The file a sqlite:/// URL names; a relative one is relative to the configuration's folder."""
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else root / path


def connect(db: Database, url: str) -> None:
    """Open the connection now, so an unreachable database is one clear StorageError at start-up."""
    try:
        db.connect(reuse_if_open=True)
    except (OperationalError, InterfaceError) as exc:
        raise StorageError(f"database unreachable ({redacted(url)}): {first_line(exc)}") from exc


def redacted(url: str) -> str:
    """The URL without its password, fit for logs and error messages."""
    return masked(url)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def thread_connection(db: Database) -> Iterator[Database]:
    """This thread's connection, opened on first use and kept for the next request.

    Web handlers run on a pool of long-lived threads; opening and closing a connection per request
    cost more than the queries (SQLite also checkpoints its WAL when the last connection closes).
    """
    db.connect(reuse_if_open=True)
    yield db


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def is_busy(exc: BaseException) -> bool:
    """The database refused for now because others hold it: trying again later will work."""
    # peewee wraps the driver's exception and keeps it as its first argument
    driver = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    return getattr(driver, "pgcode", None) in _PG_BUSY_CODES or any(word in str(exc).lower() for word in _BUSY_WORDS)


def retrying(work: Callable[[], T], what: str = "transaction", retries: int = RETRIES,
             sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `work` (one whole transaction, rolled back when it fails) again while the database is busy.

    Back-off doubles from FIRST_DELAY up to MAX_DELAY with jitter, so writers that collided spread out;
    after `retries` attempts the last error is raised as a StorageError (try again later).
    """
    for attempt in range(retries + 1):
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            if not is_busy(exc) or attempt == retries:
                raise StorageError(f"{what} failed: the database is busy or unavailable: {first_line(exc)}") \
                    from exc
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** attempt) * random.uniform(0.5, 1.0)
            log.info("%s: database busy, retrying in %.2f s", what, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def transaction(work: Callable[[], T], what: str = "transaction") -> T:
    """`work` in one write transaction, retried as a whole while the database is busy."""
    def attempt() -> T:
        with database.atomic():
            return work()
    return retrying(attempt, what)
