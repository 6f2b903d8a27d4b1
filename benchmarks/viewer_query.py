"""viewer_query: p50/p95 of GET /api/documents with filters over many documents, against the same SQL run directly."""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import date, timedelta

from starlette.testclient import TestClient

from benchmarks.common import Result, scratch_runtime
from mailflow import document_search
from mailflow.clock import naive_utc
from mailflow.models import Access, Customer, Document, Issuer, User
from mailflow.tokens import digest
from mailflow.web import viewer
from mailflow.web.api import new_api_token, page_json
from mailflow.web.app import create_app

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


def through_api(client: TestClient, token: str, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for params in QUERIES:
            started = time.perf_counter()
            response = client.get("/api/documents", params=params, headers={"Authorization": f"Bearer {token}"})
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return samples


def server_side(rt, token: str, rounds: int) -> list[float]:
    """The same requests without the HTTP client: authentication, query, viewed marks and JSON."""
    user = User.get(User.api_token_hash == digest(token))
    samples = []
    for _ in range(rounds):
        for params in QUERIES:
            started = time.perf_counter()
            _, found = viewer.find(user, params)
            json.dumps(page_json(found, rt.config.web.base_url), default=str)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def direct_sql(rt, customers: dict[int, str], rounds: int) -> list[float]:
    raw = rt.db.connection()
    statements = [document_search.query(customers, document_search.parse(p)).sql() for p in QUERIES]
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
    documents, rounds = (100_000, 5) if quick else (1_000_000, 20)
    with scratch_runtime() as rt:
        fill(rt, documents)
        rt.db.execute_sql("ANALYZE")
        results = []
        for numbers in (5, 100):
            token = accountant(rt, numbers) if numbers == 5 else _more(rt, numbers)
            customers = {c.id: c.number for c in Customer.select().join(Access).join(User).where(
                User.email == "compta@fiduciaire.example")}
            with TestClient(create_app(rt)) as client:
                through_api(client, token, 1)  # warm-up: templates, caches, connections
                api = through_api(client, token, rounds)
            sql = direct_sql(rt, customers, rounds)
            inside = server_side(rt, token, rounds)
            results.append(Result(f"viewer_query p95 ({numbers} numbers)", percentile(api, 0.95), "ms",
                                  percentile(sql, 0.95), "≤ 50 ms, ≤ 2×",
                                  f"p50 {statistics.median(api):.1f} ms vs SQL {statistics.median(sql):.1f} ms; "
                                  f"{documents:,} documents, {len(QUERIES) * rounds} requests"))
            results.append(Result(f"  without HTTP ({numbers} numbers)", percentile(inside, 0.95), "ms",
                                  percentile(sql, 0.95), "≤ 2×",
                                  f"p50 {statistics.median(inside):.1f} ms: token, scope, query, viewed marks, JSON"))
        return results


def _more(rt, numbers: int) -> str:
    user = User.get(User.email == "compta@fiduciaire.example")
    Access.insert_many([{"user": user.id, "customer": cid, "role": "shared", "created_at": naive_utc(rt.now())}
                        for cid in range(6, numbers + 1)]).execute()
    return new_api_token(user)
