"""inbound_smtp: mail taken in durably per second by `mailflow serve` (all roles, in its own process, as users
run it) over 1 and 8 connections, against aiosmtpd committing each message to SQLite before its 250
(benchmarks/references.py `durable`) and a bare aiosmtpd that keeps nothing; CPU per message received and
per message processed.

Every message has a Message-ID of its own (a resent one would be deduplicated, not stored); every client
error fails the run; afterwards every server's stored rows are counted against what it was sent.
"""

from __future__ import annotations

import multiprocessing
import smtplib
import sqlite3
import sys
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Iterator

import psycopg2

from benchmarks.common import PG_SERVER, Process, Result, Timer, cpu_seconds, database_url, free_port, \
    scratch_folder, serve, started

DOMAIN = "reply.mailflow.example"
RUN = uuid.uuid4().hex[:8]  # Message-IDs never repeat, not even across runs on one database
WAITING = "('received', 'processing')"


def message(tag: str, conn: int, n: int) -> bytes:
    body = "Bonjour,\r\n\r\nDUPLICATA F2026-0042\r\n\r\n" + "> quoted original line\r\n" * 40
    return (f"From: user{conn}@example.be\r\nTo: reply+x@{DOMAIN}\r\nSubject: Re: facture\r\n"
            f"Message-ID: <{RUN}-{tag}-{conn}-{n}@example.be>\r\n\r\n{body}").encode()


@dataclass
class Load:
    """One burst: `connections` clients sending `per_connection` messages each; any failure is kept."""

    port: int
    tag: str
    connections: int
    per_connection: int
    errors: list[str] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    def run(self) -> float:
        threads = [threading.Thread(target=self._client, args=(c,)) for c in range(self.connections)]
        with Timer() as timer:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert not self.errors, f"{len(self.errors)} client error(s), first: {self.errors[0]}"
        assert sum(self.sent) == self.total, f"sent {sum(self.sent)} of {self.total}"  # a client died early
        return self.total / timer.seconds

    @property
    def total(self) -> int:
        return self.connections * self.per_connection

    def _client(self, conn: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as client:
                for n in range(self.per_connection):
                    refused = client.sendmail(f"user{conn}@example.be", [f"reply+x@{DOMAIN}"],
                                              message(self.tag, conn, n))
                    assert not refused, refused
                self.sent.append(self.per_connection)
        except BaseException as exc:  # noqa: BLE001 - any failure of a client fails the run
            self.errors.append(f"{type(exc).__name__}: {exc}")


@dataclass
class Server:
    name: str
    process: Process
    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU seconds per message during each round
    sent: int = 0

    def load(self, tag: str, connections: int, per_connection: int, measured: bool = True) -> None:
        before = cpu_seconds(self.process.pid)
        rate = Load(self.process.port, f"{self.name}-{tag}", connections, per_connection).run()
        self.sent += connections * per_connection
        if measured:
            self.rates.append(rate)
            self.cpu.append((cpu_seconds(self.process.pid) - before) / (connections * per_connection))


@contextmanager
def reference(kind: str, folder: Path) -> Iterator[Process]:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.references", kind, "--port", str(port),
               "--database", str(folder / f"{kind}.sqlite3")]
    with started(command, None, folder / f"{kind}.log", port, ready="listening") as process:
        yield process


def waiting(url: str) -> int:
    """Stored messages mailflow has not processed yet."""
    return _count(url, f"SELECT COUNT(*) FROM inbound_message WHERE status IN {WAITING}")


def stored(url: str) -> int:
    return _count(url, "SELECT COUNT(*) FROM inbound_message WHERE door = 'smtp'")


def _count(url: str, sql: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as db:
            return db.execute(sql).fetchone()[0]
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    finally:
        conn.close()


def drain(server: Server, url: str, processed: list[float]) -> None:
    """Wait until mailflow processed what it took in (so it takes no CPU from the next round, its own or a
    reference's); the CPU that took, per message, goes to `processed`."""
    before, count = cpu_seconds(server.process.pid), waiting(url)
    while waiting(url):
        time.sleep(0.02)
    if count:
        processed.append((cpu_seconds(server.process.pid) - before) / count)


def run(quick: bool) -> list[Result]:
    rounds, per_round = (3, 200) if quick else (7, 1000)
    results: list[Result] = []
    with scratch_folder() as folder, ExitStack() as stack:
        url = database_url(folder)
        servers = [Server("durable", stack.enter_context(reference("durable", folder))),
                   Server("mailflow", stack.enter_context(serve(folder))),
                   Server("bare", stack.enter_context(reference("bare", folder)))]
        for connections in (1, 8):
            results += _measure(servers, url, connections, rounds, per_round)
        _check_stored(servers, url, folder)
    if PG_SERVER:
        results += scale_out(per_round * (1 if quick else 2))
    return results


def scale_out(per_process: int) -> list[Result]:
    """PostgreSQL: N `serve --role inbound` processes (N = 1, then 2: this machine's cores), each loaded by 8
    connections from a client process of its own; the rate of each process and of all together."""
    results = []
    for count in (1, 2):
        with scratch_folder() as folder, ExitStack() as stack:
            doors = [stack.enter_context(serve(folder, ("inbound",), name=f"inbound{n}")) for n in range(count)]
            for n, door in enumerate(doors):
                Load(door.port, f"warm{n}", 8, 5).run()
            rates = clients([door.port for door in doors], per_process)
            total = count * per_process
            assert stored(database_url(folder)) == total + 40 * count, "a message answered 250 was not stored"
        # all of them over the slowest one's time: they ran side by side
        results.append(Result(f"  PostgreSQL, {count} inbound process(es)", total / (per_process / min(rates)), "msgs/s",
                              0.0, "report", f"per process {', '.join(f'{rate:,.0f}' for rate in rates)} msgs/s; "
                              f"{per_process} messages each over 8 connections"))
    return results


def clients(ports: list[int], per_port: int) -> list[float]:
    """Load every port at once, each from a client process of its own (one process's threads share a GIL)."""
    ctx = multiprocessing.get_context("spawn")
    answers = ctx.Queue()
    workers = [ctx.Process(target=_client_process, args=(port, per_port, answers)) for port in ports]
    for worker in workers:
        worker.start()
    got = [answers.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(30)
    failures = [answer for answer in got if isinstance(answer, str)]
    assert not failures, failures[0]
    return got


def _client_process(port: int, count: int, answers) -> None:
    try:
        answers.put(Load(port, f"scale-{port}", 8, count // 8).run())
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        answers.put(f"client of port {port}: {type(exc).__name__}: {exc}")


def _measure(servers: list[Server], url: str, connections: int, rounds: int, per_round: int) -> list[Result]:
    mailflow = servers[1]
    processed: list[float] = []
    for server in servers:
        server.rates, server.cpu = [], []
        server.load(f"warm{connections}", connections, 40 // connections, measured=False)
    drain(mailflow, url, [])
    for number in range(rounds):  # alternating, so a slower spell of the machine hits all alike
        for server in servers:
            server.load(f"c{connections}r{number}", connections, per_round // connections)
            if server is mailflow:
                drain(mailflow, url, processed)
    return _results(servers, connections, rounds, per_round, processed)


def _results(servers: list[Server], connections: int, rounds: int, per_round: int,
             processed: list[float]) -> list[Result]:
    durable, mailflow, bare = servers
    target = "≥ 1.0×" if connections > 1 else "≥ 0.8×"
    spread = _spread(mailflow.rates, durable.rates)
    after = f"{median(processed) * 1e3:.2f} ms" if processed else "n/a (kept up during the rounds)"
    cpu = (f"CPU/msg received {median(mailflow.cpu) * 1e3:.2f} ms (durable {median(durable.cpu) * 1e3:.2f}, "
           f"bare {median(bare.cpu) * 1e3:.2f}), processed after the round {after}")
    label = f"inbound_smtp ({connections} conn)"
    return [Result(label, median(mailflow.rates), "msgs/s", median(durable.rates), target,
                   f"vs durable aiosmtpd; median of {rounds} alternating rounds of {per_round}; per round "
                   f"{spread}; {cpu}"),
            Result(f"  vs bare aiosmtpd ({connections} conn)", median(mailflow.rates), "msgs/s",
                   median(bare.rates), "report", f"per round {_spread(mailflow.rates, bare.rates)}")]


def _spread(ours: list[float], theirs: list[float]) -> str:
    """The range of the per-round ratios, then each in order: the spread between rounds is this machine's."""
    ratios = [a / b for a, b in zip(ours, theirs)]
    return f"{min(ratios):.2f}–{max(ratios):.2f} ({', '.join(f'{ratio:.2f}' for ratio in ratios)})"


def _check_stored(servers: list[Server], url: str, folder: Path) -> None:
    """Every message answered 250 must be stored: count the rows against what was sent."""
    durable, mailflow, _ = servers
    assert stored(url) == mailflow.sent, f"mailflow stored {stored(url)} of {mailflow.sent}"
    with sqlite3.connect(folder / "durable.sqlite3") as db:
        count = db.execute("SELECT COUNT(*) FROM message").fetchone()[0]
    assert count == durable.sent, f"the durable reference stored {count} of {durable.sent}"
