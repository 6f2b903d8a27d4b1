"""Reference SMTP servers for the intake benchmarks: a bare aiosmtpd and one that commits each message first.

Run one by hand: `python -m benchmarks.references bare --port 2525` or
`python -m benchmarks.references durable --port 2525 --database /tmp/reference.sqlite3`.

Both are aiosmtpd's own `SMTP` class as `Controller` runs it, on one event loop, as a minimal application
would write them. `durable` is the honest yardstick for mailflow's door: a 250 only after the message is in
SQLite with the embedded default's settings (WAL, synchronous=FULL), its Message-ID under a unique key so
that a retry is stored once; each message is one INSERT committed on the event loop before the answer.
"""

from __future__ import annotations

import argparse
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from mailflow.db import SQLITE_PRAGMAS

SCHEMA = ("CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY, message_id TEXT UNIQUE, "
          "mail_from TEXT, rcpt_tos TEXT, raw BLOB NOT NULL, received_at REAL NOT NULL)")
_MESSAGE_ID = re.compile(rb"(?im)^message-id:\s*(<[^>\r\n]*>)")


class Bare:
    """Answers 250 to every message and keeps nothing: the ceiling of aiosmtpd on this machine."""

    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 OK"


class Durable:
    """Commits each message to SQLite before answering 250; a Message-ID seen before is answered 250 too."""

    def __init__(self, path: str) -> None:
        self.db = connect(path)

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or b""
        found = _MESSAGE_ID.search(raw, 0, raw.find(b"\r\n\r\n"))
        # autocommit: the INSERT is its own transaction, committed and synced when execute returns
        self.db.execute("INSERT INTO message (message_id, mail_from, rcpt_tos, raw, received_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
                        (found.group(1).decode() if found else None, envelope.mail_from,
                         "\n".join(envelope.rcpt_tos), raw, time.time()))
        return "250 OK"


def connect(path: str) -> sqlite3.Connection:
    """A connection with mailflow's SQLite settings (WAL, synchronous=FULL), the table made."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for name, value in SQLITE_PRAGMAS.items():
        db.execute(f"PRAGMA {name} = {value}")
    db.execute(SCHEMA)
    return db


def stored(path: str) -> int:
    """How many messages a durable reference committed."""
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM message").fetchone()[0]


def controller(kind: str, port: int, database: str | None = None) -> Controller:
    handler = Durable(database) if kind == "durable" else Bare()
    # server_hostname given, as mailflow's door does: aiosmtpd would otherwise look it up per connection
    return Controller(handler, hostname="127.0.0.1", port=port, server_hostname="bench.example",
                      data_size_limit=26_214_400)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.references")
    parser.add_argument("kind", choices=("bare", "durable"))
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--database", default="reference.sqlite3", help="durable: the SQLite file")
    args = parser.parse_args()
    if args.kind == "durable":
        Path(args.database).parent.mkdir(parents=True, exist_ok=True)
    server = controller(args.kind, args.port, args.database)
    server.start()
    print(f"{args.kind} reference listening on 127.0.0.1:{args.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
