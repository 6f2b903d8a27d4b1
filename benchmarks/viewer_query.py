"""viewer_query: p50/p95 of GET /api/documents with filters over many documents, against the same SQL run directly."""

from __future__ import annotations

import json
import multiprocessing
import random
import socket
import statistics
import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

from benchmarks.common import Result, free_port, scratch_config, scratch_runtime
from mailflow import document_search
from mailflow.clock import naive_utc
from mailflow.models import Access, Customer, Document, Issuer, User
from mailflow.runtime import open_runtime
from mailflow.web import viewer
from mailflow.web.api import token_user_id, new_api_token, page_json
from mailflow.web.roles import server

CUSTOMERS = 2000
START = date(2019, 1, 1)


def fill(rt, documents: int) -> None:
    """Bulk rows straight into the tables: the benchmark measures reading, not publishing."""
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
    for start in range(0, documents, 20_000):
        with rt.db.atomic():
            Document.insert_many([_row(rng, n, issuer.id, now) for n in range(start, min(documents, start + 20_000))]
                                 ).execute()


def _row(rng: random.Random, n: int, issuer_id: int, now) -> dict:
    kind = "credit_note" if n % 13 == 0 else "invoice"
    number = f"{'C' if kind == 'credit_note' else 'F'}{n:08d}"
    return {"issuer": issuer_id, "customer": n % CUSTOMERS + 1, "number": number, "number_key": number,
            "type": kind, "date": START + timedelta(days=rng.randrange(2555)),
            "amount_cents": rng.randrange(1_000, 1_000_000), "currency": "EUR", "pdf_sha256": "0" * 64,
            "pdf_size": 1, "pdf_name": f"{number}.pdf", "created_at": now}


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
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.stream = self.sock.makefile("rb")
        self.headers = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"

    def get(self, path: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\n{self.headers}".encode())
        status, length = int(self.stream.readline().split()[1]), 0
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


def run(quick: bool) -> list[Result]:
    documents, rounds = (100_000, 10) if quick else (1_000_000, 40)
    with scratch_runtime() as rt:
        fill(rt, documents)
        rt.db.execute_sql("ANALYZE")
        results = []
        for numbers in (5, 100):
            token = accountant(rt, numbers) if numbers == 5 else _more(rt, numbers)
            customers = {c.id: c.number for c in Customer.select().join(Access).join(User).where(
                User.email == "compta@fiduciaire.example")}
            api, sql, inside = measure(rt, token, customers, rounds)
            results.append(Result(f"viewer_query p95 ({numbers} numbers)", percentile(api, 0.95), "ms",
                                  percentile(sql, 0.95), "≤ 50 ms, ≤ 2×",
                                  f"p50 {statistics.median(api):.1f} ms vs SQL {statistics.median(sql):.1f} ms; "
                                  f"{documents:,} documents, {len(QUERIES) * rounds} requests"))
            results.append(Result(f"  without HTTP ({numbers} numbers)", percentile(inside, 0.95), "ms",
                                  percentile(sql, 0.95), "≤ 2×",
                                  f"p50 {statistics.median(inside):.1f} ms: token, scope, query, viewed marks, JSON"))
        return results


def measure(rt, token: str, customers: dict[int, str], rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Samples through the API, of the bare SQL and without HTTP, one round of each in turn, so that a
    slower spell of the machine hits all three alike."""
    api: list[float] = []
    sql: list[float] = []
    inside: list[float] = []
    with web_process(rt) as port:
        client = Client(port, token)
        through_api(client, 1)  # warm-up: templates, caches, connections
        for _ in range(rounds):
            api += through_api(client, 1)
            sql += direct_sql(rt, customers, 1)
            inside += server_side(rt, token, 1)
        client.close()
    return api, sql, inside


def _more(rt, numbers: int) -> str:
    user = User.get(User.email == "compta@fiduciaire.example")
    Access.insert_many([{"user": user.id, "customer": cid, "role": "shared", "created_at": naive_utc(rt.now())}
                        for cid in range(6, numbers + 1)]).execute()
    return new_api_token(user)
