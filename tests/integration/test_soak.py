"""Soak: `mailflow serve` (all roles) while an import, logins, inbound mail and an outbox backlog run at once.

What people do at the same time on the embedded default (and on PostgreSQL): nothing may fail, be lost,
be done twice or report success for work that was not committed.
"""

from __future__ import annotations

import re
import smtplib
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mailflow import accounts
from mailflow.accounts import Person
from mailflow.inbound.smtp_server import free_port
from mailflow.models import Document, InboundMessage, Outbox
from mailflow.pdf import simple_pdf
from tests.support.inbound import message
from tests.support.processes import mailflow_env, start, stop, wait_for

PEOPLE = 200
IMPORT_ROWS = 5_000
INBOUND = 500
BACKLOG = 1_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def email(n: int) -> str:
    return f"contact{n}@soak.example"


@pytest.fixture
def customers(rt) -> list[str]:
    numbers = [f"DL2{n:06d}" for n in range(PEOPLE)]
    with rt.db.atomic():
        for n, number in enumerate(numbers):
            accounts.add_customer(rt, number, f"Soak {n} SRL", Person(email(n), "Soak", str(n), "fr"))
    return numbers


def fill_backlog(rt) -> set[str]:
    from mailflow.outbound import outbox  # noqa: PLC0415
    ids = set()
    with rt.db.atomic():
        for n in range(BACKLOG):
            message_id = f"<backlog-{n}@soak.example>"
            raw = f"Message-ID: {message_id}\r\nSubject: backlog {n}\r\n\r\nbody {n}\r\n".encode()
            outbox.enqueue(outbox.Mail(message_id, raw, f"backlog{n}@soak.example", f"backlog {n}", "notice"),
                           rt.now())
            ids.add(message_id)
    return ids


def import_file(folder: Path, numbers: list[str]) -> tuple[Path, Path]:
    pdfs = folder / "soak-pdfs"
    pdfs.mkdir()
    for n in range(5):
        (pdfs / f"p{n}.pdf").write_bytes(simple_pdf(f"P{n}"))
    csv_file = folder / "soak.csv"
    rows = [f"{numbers[n % len(numbers)]},S2026-{n:06d},invoice,2026-10-{n % 28 + 1:02d},{n}.{n % 100:02d},p{n % 5}.pdf"
            for n in range(IMPORT_ROWS)]
    csv_file.write_text("customer,number,type,date,amount,pdf\n" + "\n".join(rows) + "\n")
    return csv_file, pdfs


class Load:
    """Results of the clients, gathered from their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.http: Counter[int] = Counter()
        self.smtp: Counter[int] = Counter()
        self.errors: list[str] = []

    def note_error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def logins(base: str, people: range, load: Load) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:  # keep-alive, as a browser
        for n in people:
            try:
                token = CSRF.search(client.get("/login").text).group(1)
                answer = client.post("/login", data={"csrf_token": token, "email": email(n)})
                with load.lock:
                    load.http[answer.status_code] += 1
            except (httpx.HTTPError, AttributeError) as exc:
                load.note_error(f"login {n}: {exc!r}")


def inbound(port: int, first: int, count: int, load: Load) -> None:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            for n in range(first, first + count):
                raw = message(f"client{n}@soak.example", "reply@reply.mailflow.example", f"Question {n}",
                              f"Bonjour, question {n}", message_id=f"<in-{n}@soak.example>")
                try:
                    client.sendmail(f"client{n}@soak.example", ["reply@reply.mailflow.example"], raw)
                    code = 250
                except smtplib.SMTPResponseException as exc:
                    code = exc.smtp_code
                with load.lock:
                    load.smtp[code] += 1
    except (OSError, smtplib.SMTPException) as exc:
        load.note_error(f"inbound from {first}: {exc!r}")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_holds_an_import_logins_inbound_mail_and_a_backlog_at_once(rt, relay, customers, tmp_path):
    backlog = fill_backlog(rt)
    csv_file, pdfs = import_file(tmp_path, customers)
    web_port, smtp_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    env = mailflow_env(rt.config, outbound_transport="smtp", outbound_smtp_port=relay.port,
                       outbound_poll_seconds=0.2, inbound_poll_seconds=0.2, web_host="127.0.0.1",
                       web_port=web_port, web_base_url=f"http://127.0.0.1:{web_port}", inbound_smtp_port=smtp_port,
                       limits_login_requests_per_ip_per_hour=100_000)
    serve = start(["serve"], env, tmp_path / "serve.log")
    load = Load()
    try:
        wait_for(lambda: listening(web_port) and listening(smtp_port), 60, "serve listening", (serve,))
        importer = start(["document", "import", str(csv_file), "--pdf-dir", str(pdfs), "--notify", "coalesce"],
                         env, tmp_path / "import.log")
        with ThreadPoolExecutor(max_workers=18) as pool:
            for k in range(8):
                pool.submit(logins, f"http://127.0.0.1:{web_port}", range(k, PEOPLE, 8), load)
            for k in range(10):
                pool.submit(inbound, smtp_port, k * (INBOUND // 10), INBOUND // 10, load)
        assert importer.wait(600) == 0, (tmp_path / "import.log").read_text()[-3000:]
        wait_for(lambda: Outbox.select().where(Outbox.status.in_(("queued", "sending", "deferred"))).count() == 0
                 and InboundMessage.select().where(InboundMessage.status.in_(("received", "processing"))).count() == 0,
                 300, "outbox delivered and inbound processed", (serve,))
    finally:
        stop(serve)
    serve_log, import_log = (tmp_path / "serve.log").read_text(), (tmp_path / "import.log").read_text()

    assert load.errors == [] and set(load.http) == {200}, (load.errors[:5], load.http)
    assert load.smtp == {250: INBOUND}
    assert f"imported {IMPORT_ROWS} document(s), 0 row(s) refused" in import_log
    assert Document.select().count() == IMPORT_ROWS
    stored = Counter(m.message_id for m in InboundMessage.select(InboundMessage.message_id))
    assert len(stored) == INBOUND and max(stored.values()) == 1
    assert InboundMessage.select().where(InboundMessage.status != "staff").count() == 0  # each processed once
    delivered = Counter(r.message["Message-ID"] for r in list(relay.received))
    assert backlog <= set(delivered) and max(delivered.values()) == 1
    login_ids = {row.message_id for row in Outbox.select(Outbox.message_id).where(Outbox.kind == "login")}
    at_relay = {r.rcpt_tos[0] for r in relay.received if r.message["Message-ID"] in login_ids}
    assert len(login_ids) == PEOPLE and at_relay == {email(n) for n in range(PEOPLE)}
    assert "database is locked" not in serve_log + import_log
    assert "Traceback" not in serve_log + import_log
