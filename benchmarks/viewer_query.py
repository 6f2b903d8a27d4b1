"""viewer_query: p50/p95 of GET /api/documents per query and user size, against the bare SQL; a request's fixed cost."""

from __future__ import annotations

import json
import multiprocessing
import random
import socket
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

from benchmarks.common import Result, Timer, free_port, scratch_config, scratch_runtime
from mailflow import bulk, document_search
from mailflow.clock import naive_utc
from mailflow.db import is_postgres
from mailflow.models import Access, Customer, Document, Issuer, User
from mailflow.runtime import open_runtime
from mailflow.web import viewer
from mailflow.web.api import token_user_id, new_api_token, page_json
from mailflow.web.roles import server

CUSTOMERS = 2000
START = date(2019, 1, 1)


def fill(rt, documents: int) -> None:
    """Bulk rows straight into the tables (multi-row INSERTs written as text: peewee's insert_many took most of
    the time at 5,000,000 documents): the benchmark measures reading, not publishing."""
    now = naive_utc(rt.now())
    issuer = Issuer.get(Issuer.prefix == "DL2")
    with rt.db.atomic():
        User.insert_many([{"email": f"user{n}@example.be", "language": "fr", "created_at": now}
                          for n in range(CUSTOMERS)]).execute()
        Customer.insert_many([{"number": f"DL2{n:06d}", "issuer": issuer.id, "company": f"Company {n}",
                               "primary_user": n + 1, "created_at": now} for n in range(CUSTOMERS)]).execute()
        Access.insert_many([{"user": n + 1, "customer": n + 1, "role": "primary", "created_at": now}
                            for n in range(CUSTOMERS)]).execute()
    rng = random.Random(1)
    with without_indexes(rt.db, "document"):
        for start in range(0, documents, 20_000):
            with rt.db.atomic():
                bulk.insert(DOCUMENT_FIELDS, [_row(rng, n, issuer.id, now)
                                              for n in range(start, min(documents, start + 20_000))])


@contextmanager
def without_indexes(db, table: str) -> Iterator[None]:
    """`table`'s indexes dropped meanwhile and made again afterwards: building an index from sorted rows is
    far faster than inserting millions of random keys into eight of them (SQLite or PostgreSQL alike)."""
    if db.param == "?":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%_pkey'"
    indexes = db.execute_sql(sql, [table]).fetchall()
    for name, _ in indexes:
        db.execute_sql(f'DROP INDEX "{name}"')
    yield
    for _, definition in indexes:
        db.execute_sql(definition)


DOCUMENT_FIELDS = (Document.issuer, Document.customer, Document.number, Document.number_key, Document.type,
                   Document.date, Document.amount_cents, Document.currency, Document.pdf_sha256, Document.pdf_size,
                   Document.pdf_name, Document.created_at)


def _row(rng: random.Random, n: int, issuer_id: int, now) -> tuple:
    kind = "credit_note" if n % 13 == 0 else "invoice"
    number = f"{'C' if kind == 'credit_note' else 'F'}{n:08d}"
    return (issuer_id, n % CUSTOMERS + 1, number, number, kind, START + timedelta(days=rng.randrange(2555)),
            rng.randrange(1_000, 1_000_000), "EUR", "0" * 64, 1, f"{number}.pdf", now)


def accountant(rt, numbers: int) -> str:
    """A user who sees `numbers` customer numbers (a fiduciary), with an API token."""
    user = User.create(email="compta@fiduciaire.example", language="fr", created_at=naive_utc(rt.now()))
    Access.insert_many([{"user": user.id, "customer": cid, "role": "shared", "created_at": naive_utc(rt.now())}
                        for cid in range(1, numbers + 1)]).execute()
    return new_api_token(user)


QUERIES = [
    {}, {"sort": "amount"}, {"sort": "amount", "order": "asc"}, {"type": "credit_note"},
    {"date_from": "2024-01-01", "date_to": "2024-03-31"}, {"amount_min": "5000", "amount_max": "6000"},
    {"number": "0042"}, {"customer": "DL2000003"}, {"customer": "DL2000003", "type": "invoice", "sort": "number"},
    {"sort": "customer"}, {"page": "3"}, {"date_from": "2025-06-01", "sort": "amount", "type": "invoice"},
]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _serve(folder: str, port: int, ready, stop) -> None:
    """mailflow's web role (uvicorn) on the benchmark's database, in its own process as deployed."""
    rt = open_runtime(scratch_config(Path(folder)))
    web = server(rt, "127.0.0.1", port)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.01)
    ready.set()
    stop.wait()
    web.should_exit = True
    thread.join(10)


class Client:
    """A bare HTTP/1.1 keep-alive client: http.client parses each response's headers with the email package,
    which cost a seventh of a small listing's round trip and is no part of the server's latency."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.connect()
        self.headers = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"

    def connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.stream = self.sock.makefile("rb")

    def get(self, path: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\n{self.headers}".encode())
        if not (first := self.stream.readline()):  # uvicorn closes a connection idle for 5 s: open another
            self.close()
            self.connect()
            return self.get(path)
        status, length = int(first.split()[1]), 0
        while (line := self.stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            length = int(value) if name.strip().lower() == b"content-length" else length
        return status, self.stream.read(length)

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@contextmanager
def web_process(rt) -> Iterator[int]:
    """The port of mailflow's web role serving `rt`'s database from another process."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, port = ctx.Event(), ctx.Event(), free_port()
    folder = str(Path(rt.config.storage.pdf_dir).parent)
    process = ctx.Process(target=_serve, args=(folder, port, ready, stop), daemon=True)
    process.start()
    try:
        assert ready.wait(60), "the web role did not start"
        yield port
    finally:
        stop.set()
        process.join(30)


def through_api(client: Client, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for params in QUERIES:
            started = time.perf_counter()
            status, body = client.get(f"/api/documents?{urlencode(params)}")
            samples.append((time.perf_counter() - started) * 1000)
            assert status == 200, body
    return samples


def server_side(rt, token: str, rounds: int) -> list[float]:
    """The same work without HTTP: the token's user, their customer numbers, query, viewed marks and JSON."""
    samples = []
    for _ in range(rounds):
        for params in QUERIES:
            started = time.perf_counter()
            user_id = token_user_id(token)
            found = viewer.search(user_id, document_search.visible_numbers(user_id), params)
            json.dumps(page_json(found, rt.config.web.base_url), default=str)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def direct_sql(rt, customers: dict[int, str], rounds: int) -> list[float]:
    raw = rt.db.connection()
    statements = [document_search.query(customers, document_search.parse(p)) for p in QUERIES]
    samples = []
    for _ in range(rounds):
        for sql, params in statements:
            started = time.perf_counter()
            raw.execute(sql, params).fetchall() if hasattr(raw, "execute") else _pg(raw, sql, params)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _pg(raw, sql: str, params) -> None:
    with raw.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()


SIZES = {True: (100_000, 10), False: (5_000_000, 40)}  # quick, full: documents and rounds


def run(quick: bool) -> list[Result]:
    documents, rounds = SIZES[quick]
    with scratch_runtime() as rt:
        with Timer() as filling:
            fill(rt, documents)
            # statistics for the planner; on PostgreSQL the visibility map too, which autovacuum keeps for a
            # table in use and index-only scans need
            rt.db.execute_sql("VACUUM ANALYZE" if is_postgres() else "ANALYZE")
        results = []
        for numbers in (5, 100):
            token = accountant(rt, numbers) if numbers == 5 else _more(rt, numbers)
            customers = {c.id: c.number for c in Customer.select().join(Access).join(User).where(
                User.email == "compta@fiduciaire.example")}
            samples = measure(rt, token, customers, rounds)
            results += report(numbers, samples, f"{documents:,} documents (filled in {filling.seconds:.0f} s), "
                                                f"{rounds} requests each")
        return results


def label(params: dict[str, str]) -> str:
    return urlencode(params) or "(no filter)"


def report(numbers: int, samples: "Samples", extra: str) -> list[Result]:
    """One line per query (p95 through the API against the bare SQL's p95), then the fixed cost of a request:
    the API's p50 less the SQL's, per query, so that a constant HTTP and handler cost is seen on its own."""
    target = "≤ 10 ms" if numbers <= 5 else "≤ 50 ms"
    lines = [Result(f"viewer_query p95 ({numbers} numbers)", percentile(samples.all_api(), 0.95), "ms",
                    percentile(samples.all_sql(), 0.95), target, f"all queries; {extra}")]
    fixed = []
    for n, params in enumerate(QUERIES):
        api, sql, inside = samples.api[n], samples.sql[n], samples.inside[n]
        fixed.append(statistics.median(api) - statistics.median(sql))
        lines.append(Result(f"  {label(params)[:30]}", percentile(api, 0.95), "ms", percentile(sql, 0.95), target,
                            f"p50 {statistics.median(api):.2f} vs SQL {statistics.median(sql):.2f} ms; "
                            f"without HTTP p50 {statistics.median(inside):.2f} / p95 {percentile(inside, 0.95):.2f}"))
    lines.append(Result(f"  fixed per request ({numbers} num.)", statistics.median(fixed), "ms", 0.0, "report",
                        "API p50 − SQL p50, median over the queries; per query " +
                        ", ".join(f"{value:.2f}" for value in fixed)))
    return lines


@dataclass
class Samples:
    """Milliseconds per query (index into QUERIES): through the API, the bare SQL, and the same work without HTTP."""

    api: list[list[float]] = field(default_factory=lambda: [[] for _ in QUERIES])
    sql: list[list[float]] = field(default_factory=lambda: [[] for _ in QUERIES])
    inside: list[list[float]] = field(default_factory=lambda: [[] for _ in QUERIES])

    def all_api(self) -> list[float]:
        return [sample for query in self.api for sample in query]

    def all_sql(self) -> list[float]:
        return [sample for query in self.sql for sample in query]


def measure(rt, token: str, customers: dict[int, str], rounds: int) -> Samples:
    """Samples through the API, of the bare SQL and without HTTP, one round of each in turn, so that a
    slower spell of the machine hits all three alike."""
    samples = Samples()
    with web_process(rt) as port:
        client = Client(port, token)
        through_api(client, 1)  # warm-up: templates, caches, connections
        for _ in range(rounds):
            _add(samples.api, through_api(client, 1))
            _add(samples.sql, direct_sql(rt, customers, 1))
            _add(samples.inside, server_side(rt, token, 1))
        client.close()
    return samples


def _add(per_query: list[list[float]], one_round: list[float]) -> None:
    for query, sample in zip(per_query, one_round):
        query.append(sample)


def _more(rt, numbers: int) -> str:
    user = User.get(User.email == "compta@fiduciaire.example")
    Access.insert_many([{"user": user.id, "customer": cid, "role": "shared", "created_at": naive_utc(rt.now())}
                        for cid in range(6, numbers + 1)]).execute()
    return new_api_token(user)
