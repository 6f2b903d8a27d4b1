"""Database handle: one proxy bound at start-up to SQLite or PostgreSQL, nothing at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase

from mailflow.errors import ConfigError

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # FULL: a committed transaction survives power loss, which "250 only after commit" needs.
    "synchronous": "full",
    "busy_timeout": 30_000,
    "cache_size": -32_000,
}


def open_database(url: str, root: Path) -> Database:
    """Connect the proxy to the configured database and return it."""
    db = _make(url, root)
    database.initialize(db)
    return db


def _make(url: str, root: Path) -> Database:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path = path if path.is_absolute() else root / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=30)
    parts = urlparse(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"[database] url has an unknown scheme {parts.scheme!r}")
    return PostgresqlDatabase(
        parts.path.lstrip("/"), user=parts.username, password=parts.password,
        host=parts.hostname, port=parts.port or 5432)


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


def atomic_immediate():
    """A write transaction that takes SQLite's write lock up front, so claims never deadlock."""
    if isinstance(database.obj, SqliteDatabase):
        return database.obj.atomic("IMMEDIATE")
    return database.atomic()
