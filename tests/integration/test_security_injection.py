"""Injection through what people and back offices type: names, company names, document numbers and
subjects must never add a header to any mail, never run as HTML or as a template in any mail or page, and
PDF names must never reach outside the PDF folder."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailflow.accounts import Person, add_staff
from mailflow.issuers import sync_issuers
from mailflow.models import Customer, Document, InboundMessage, Outbox, User
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.pdf import simple_pdf
from mailflow.scheduler import digests
from mailflow.web.app import create_app
from mailflow.web.viewer import download_name
from tests.support.cli import invoke as invoke_cli
from tests.support import factories
from tests.support.inbound import inbound_smtp, message, postfix_dsn, send, settle  # noqa: F401 (fixture)
from tests.support.scheduler import choose, local
from tests.support.security import (
    BASE_HEADERS, BREAKOUT, BREAKS, JINJA, JS_URL, SCRIPT, THREADED, UNSUBSCRIBE, assert_exact_headers,
    assert_inert, html_part, text_part, web_client,
)
from tests.support.web import csrf, login

FIRST = f"{SCRIPT}{BREAKOUT}{JINJA}\r\nBcc: mallory@evil.example"  # at most 100 characters, like a name
LAST = f"Eve{BREAKS[:60]}"
COMPANY = f"{SCRIPT}{BREAKOUT}{JINJA} {JS_URL}{BREAKS}"
NUMBER = "F1<script>x</script>\r\nBcc: m@evil.example\u2028X-Injected: ls"  # what no validation would let in
SUBJECT = f"{SCRIPT}{JINJA}\r\nBcc: mallory@evil.example\u2028X-Injected: ls"
SHOWN = (SCRIPT, BREAKOUT, JINJA)
# every mail that does not answer the person's own request carries List-Unsubscribe
EXPECTED = {"login": BASE_HEADERS, "notice": UNSUBSCRIBE, "digest": UNSUBSCRIBE, "duplicate": BASE_HEADERS,
            "invitation": UNSUBSCRIBE, "answer": THREADED, "primary_bounced": UNSUBSCRIBE}


@dataclass
class Hostile:
    marie: User
    jan: User
    sam: User
    x: Customer
    doc: Document


def hostile_names(*users: User) -> None:
    """Names as no form lets them in: straight into the database, so the mail and page layers are tested alone."""
    for user in users:
        User.update(first_name=FIRST, last_name=LAST).where(User.id == user.id).execute()


@pytest.fixture
def hostile(smtp_rt) -> Hostile:
    x = factories.customer(smtp_rt)
    factories.share(smtp_rt)
    sam = add_staff(smtp_rt, Person("sam@support.example", "Sam", "Support", "en"))
    marie = choose(smtp_rt, factories.MARIE.email, "daily")
    doc = factories.document(smtp_rt)
    jan = factories.JAN_user()
    hostile_names(marie, jan)
    Customer.update(company=COMPANY).where(Customer.id == x.id).execute()
    Document.update(number=NUMBER).where(Document.id == doc.id).execute()
    DeliveryWorker(smtp_rt).flush()  # Jan's notice went out before the names turned hostile
    return Hostile(User.get_by_id(marie.id), User.get_by_id(jan.id), sam, Customer.get_by_id(x.id),
                   Document.get_by_id(doc.id))


def hostile_mail(sender: str, to: str, body: str, display_name: str = "") -> bytes:
    """A mail whose RFC 2047 subject (and sender name) decode to text with line breaks, written byte by byte:
    the email package, asked to write such a subject, would itself split it into two headers."""
    raw = message(sender, to, "SUBJECT-HERE", body)
    raw = raw.replace(b"Subject: SUBJECT-HERE", b"Subject: " + encoded(SUBJECT).encode())
    return raw.replace(f"From: {sender}".encode(), f"From: {encoded(display_name)} <{sender}>".encode()) \
        if display_name else raw


def encoded(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def web_mails(rt, app, h: Hostile) -> None:
    """Mails set off in the viewer and the console: login link, notices, duplicate, invitations, digest."""
    marie = login(web_client(app), rt, h.marie)
    web = web_client(app, "203.0.113.8")
    web.post("/login", data={"csrf_token": csrf(web), "email": h.marie.email})
    marie.post("/settings/frequency", data={"csrf_token": csrf(marie, "/settings"),
                                            f"frequency_{h.x.id}": "immediate"})
    marie.post(f"/documents/{h.doc.id}/duplicate", data={"csrf_token": csrf(marie, "/documents")})
    marie.post("/sharing/add", data={"csrf_token": csrf(marie, "/sharing"), "email": "eve@example.be",
                                     "first_name": FIRST, "last_name": LAST, "language": "en",
                                     "customer": str(h.x.id)})
    marie.post("/settings/frequency", data={"csrf_token": csrf(marie, "/settings"),
                                            f"frequency_{h.x.id}": "daily"})
    sam = login(web_client(app, "203.0.113.9"), rt, h.sam)
    sam.post(f"/staff/users/{h.jan.id}/invitation", data={"csrf_token": csrf(sam, "/staff")})
    second = factories.document(rt, number="F2026-0043")
    Document.update(number=NUMBER.replace("F1", "F2")).where(Document.id == second.id).execute()
    digests.run(rt, "daily", local(2026, 11, 3, 7))


def mail_replies(rt, app, server, relay, h: Hostile) -> None:
    """Mails set off by mail: a command answer, an acknowledgement, a staff answer, a dead primary contact."""
    DeliveryWorker(rt).flush()
    notice = next(r.message for r in relay.to(h.marie.email) if r.message["List-Unsubscribe"])
    reply_to = notice["Reply-To"].addresses[0].addr_spec
    for body in ("HEBDOMADAIRE", f"Bonjour {SCRIPT}{BREAKOUT}{JINJA} {JS_URL}"):
        raw = hostile_mail(h.marie.email, reply_to, body)
        assert send(server, raw, h.marie.email, reply_to).code == 250
    settle(rt)
    question = InboundMessage.select().order_by(InboundMessage.id.desc()).get()
    sam = login(web_client(app, "203.0.113.9"), rt, h.sam)
    sam.post(f"/staff/inbound/{question.id}/answer", data={"csrf_token": csrf(sam, "/staff"),
                                                           "body": f"{SCRIPT}\r\n{BREAKOUT}\n{JINJA}"})
    rt.config.bounces.score_threshold = 1
    DeliveryWorker(rt).flush()
    verp = relay.to(h.marie.email)[-1]
    dsn = postfix_dsn(verp.mail_from, h.marie.email, verp.message["Message-ID"])
    assert send(server, dsn, "", verp.mail_from).code == 250
    settle(rt)


def test_no_name_subject_or_number_adds_a_header_or_runs_in_any_mail(smtp_rt, relay, inbound_smtp, hostile):
    relay.received.clear()
    app = create_app(smtp_rt)
    web_mails(smtp_rt, app, hostile)
    mail_replies(smtp_rt, app, inbound_smtp, relay, hostile)
    kinds, subjects, names = Counter(), [], []
    for got in relay.received:
        row = Outbox.get(Outbox.message_id == got.message["Message-ID"])
        assert got.rcpt_tos == [row.recipient]  # one envelope recipient: nobody added by a header
        msg = assert_exact_headers(got.raw, EXPECTED[row.kind], row.recipient)
        assert_inert(html_part(msg), *SHOWN)  # every recipient here has a hostile name or a hostile answer
        assert JINJA in text_part(msg)
        kinds[row.kind] += 1
        subjects.append(str(msg["Subject"]))
        names.append(msg["To"].addresses[0].display_name)
    assert set(kinds) == set(EXPECTED) and kinds["answer"] == 3 and kinds["invitation"] >= 2, kinds
    # the attempts did reach the headers, each flattened onto its one line
    assert any("<script>x</script> Bcc: m@evil.example X-Injected: ls" in s for s in subjects)
    assert any(f"Re: {SCRIPT}{JINJA} Bcc: mallory@evil.example X-Injected: ls" == s for s in subjects)
    assert any("Bcc: mallory@evil.example Eve Bcc: mallory@evil.example X-Injected: lf" in n for n in names)
    assert "mallory@evil.example" not in {r for got in relay.received for r in got.rcpt_tos}


def test_forms_flatten_line_breaks_out_of_names_and_the_api_refuses_them_in_numbers(rt):
    x = factories.customer(rt)
    web = login(web_client(rt), rt, x.primary_user)
    web.post("/settings/profile", data={"csrf_token": csrf(web, "/settings"), "language": "fr",
                                        "first_name": "Marie\r\nBcc: x@evil.example",
                                        "last_name": "Dupont\u2028X-Injected: ls\x85nel"})
    web.post("/sharing/add", data={"csrf_token": csrf(web, "/sharing"), "email": "eve@example.be",
                                   "first_name": "Eve\nBcc: x@evil.example", "last_name": "\u2028X: y",
                                   "language": "en", "customer": str(x.id)})
    names = [(u.first_name, u.last_name) for u in User.select().order_by(User.id)]
    assert names == [("Marie Bcc: x@evil.example", "Dupont X-Injected: ls nel"),
                     ("Eve Bcc: x@evil.example", "X: y")]
    key = issuer_key(rt)
    for number in ("F1\r\nBcc: x@evil.example", "F1\u2028X: y", "F1<script>", "../F1", "F1\x85X: y"):
        answer = publish(web_client(rt), key, number, "F1.pdf")
        assert answer.status_code == 400 and answer.json()["field"] == "number", number
    assert Document.select().count() == 0


def issuer_key(rt) -> str:
    rt.config.issuers[0].api_key = "dl2-back-office-key-0123456789"
    sync_issuers(rt.config.issuers)
    return rt.config.issuers[0].api_key


def publish(web, key: str, number: str, filename: str):
    meta = {"customer": "DL2123456", "number": number, "type": "invoice", "date": "2026-11-02", "amount": "1.00"}
    files = {"metadata": (None, json.dumps(meta)), "pdf": (filename, simple_pdf(number), "application/pdf")}
    return web.post("/api/documents", headers={"x-api-key": key}, files=files)


PAGES_AS_STAFF = ["/documents", "/sharing", "/settings", "/activation", "/staff", "/staff/inbound",
                  "/staff/outbound", "/staff/bounces", "/staff/people", "/staff/people?q=Eve",
                  "/staff/users/{jan}", "/staff/users/{marie}", "/staff/inbound/{message}",
                  "/staff/merge?keep={marie_email}&other={jan_email}"]


def test_every_page_shows_hostile_text_as_text(smtp_rt, relay, inbound_smtp, hostile):
    rt, h = smtp_rt, hostile
    User.update(is_staff=True).where(User.id == h.marie.id).execute()
    raw = hostile_mail(h.marie.email, "support@reply.mailflow.example", f"{SCRIPT}{BREAKOUT}\n{JINJA} {JS_URL}",
                       display_name=f"{SCRIPT}\r\nBcc: x@evil.example")
    send(inbound_smtp, raw, h.marie.email, "support@reply.mailflow.example")
    settle(rt)
    app = create_app(rt)
    web = login(web_client(app), rt, User.get_by_id(h.marie.id))
    ids = {"jan": h.jan.id, "marie": h.marie.id, "message": InboundMessage.get().id, "marie_email": h.marie.email,
           "jan_email": h.jan.email}
    for path in PAGES_AS_STAFF:
        page = web.get(path.format(**ids))
        assert page.status_code == 200, path
        assert_inert(page.text, *SHOWN)
    detail = web.get(f"/staff/inbound/{ids['message']}").text
    assert_inert(detail, SCRIPT + JINJA, "Bcc: mallory@evil.example", f"{SCRIPT}{BREAKOUT}\n{JINJA} {JS_URL}")
    code = web.post(f"/staff/customers/{h.x.id}/activation-code", data={"csrf_token": csrf(web, "/staff")})
    assert_inert(code.text, *SHOWN)
    raw_download = web.get(f"/staff/inbound/{ids['message']}/raw")  # the sender's own bytes: never as a page
    assert raw_download.headers["content-type"].startswith("text/plain")
    assert raw_download.headers["content-disposition"].startswith("attachment;")
    assert raw_download.headers["x-content-type-options"] == "nosniff"


ECHOED = [(f"/documents?number={SCRIPT}", (SCRIPT,)), (f"/documents?date_from={BREAKOUT}", (BREAKOUT,)),
          (f"/staff/people?q={BREAKOUT}{JINJA}", (BREAKOUT, JINJA)),
          (f"/staff/merge?keep={SCRIPT}&other=x", (SCRIPT,)),
          (f"/documents?customer={JINJA}", ()), (f"/documents?sort={JS_URL}", ()), ("/documents/999999/pdf", ()),
          (f"/login?lang={BREAKOUT}", ())]


def test_what_a_visitor_types_comes_back_as_text(rt):
    marie = add_staff(rt, factories.MARIE)
    factories.customer(rt)
    web = login(web_client(rt), rt, User.get_by_id(marie.id))
    for path, shown in ECHOED:
        page = web.get(path, follow_redirects=True)  # the merge form answers with a message on the next page
        assert page.status_code in (200, 400, 404), (path, page.status_code)
        assert_inert(page.text, *shown)


def test_a_mistyped_login_address_is_echoed_as_text(rt):
    web = web_client(rt)
    page = web.post("/login", data={"csrf_token": csrf(web), "email": f"{BREAKOUT}{SCRIPT}{JINJA}"})
    assert page.status_code == 400
    assert_inert(page.text)
    assert f'value="{BREAKOUT}' not in page.text


# --- PDF names -----------------------------------------------------------------------------------------------


def test_download_and_attachment_names_never_carry_a_path(smtp_rt, relay):
    marie = factories.customer(smtp_rt).primary_user
    doc = factories.document(smtp_rt, number="F/../../ETC/PASSWD")
    Document.update(pdf_name='../../evil"\r\nX-Injected: 1.pdf').where(Document.id == doc.id).execute()
    web = login(web_client(smtp_rt), smtp_rt, marie)
    answer = web.get(f"/documents/{doc.id}/pdf")
    disposition = answer.headers["content-disposition"]
    assert answer.status_code == 200 and disposition == f'attachment; filename="{download_name(doc)}"'
    assert "/" not in download_name(doc) and "\\" not in disposition and "evil" not in disposition
    web.post(f"/documents/{doc.id}/duplicate", data={"csrf_token": csrf(web, "/documents")})
    DeliveryWorker(smtp_rt).flush()
    [pdf] = [p for got in relay.received for p in got.message.walk() if p.get_content_type() == "application/pdf"]
    assert "/" not in pdf.get_filename() and "\\" not in pdf.get_filename()


def test_the_api_keeps_only_a_bare_name_of_an_uploaded_file(rt, tmp_path):
    key = issuer_key(rt)
    factories.customer(rt)
    target = tmp_path / "outside" / "evil.pdf"
    names = ["../" * 12 + str(target).lstrip("/"), str(target), "..\\..\\evil.pdf", "evil\r\nX: y.pdf", ".."]
    web = web_client(rt)
    for n, name in enumerate(names):
        answer = publish(web, key, f"F2026-{n:04d}", name)
        assert answer.status_code == 201, answer.text
    assert not target.exists()
    for doc in Document.select():
        assert "/" not in doc.pdf_name and "\r" not in doc.pdf_name and "\n" not in doc.pdf_name
    folder = rt.config.path(rt.config.storage.pdf_dir)
    stored = [str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()]
    assert len(stored) == len(names) and all(re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}\.pdf", p) for p in stored)


def test_csv_import_reads_pdfs_only_from_inside_the_pdf_folder(rt, tmp_path, database_url):
    factories.customer(rt)
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir(), outside.mkdir()
    (inside / "sub").mkdir()
    (inside / "good.pdf").write_bytes(simple_pdf("good"))
    (outside / "secret.pdf").write_bytes(simple_pdf("secret"))
    (inside / "link.pdf").symlink_to(outside / "secret.pdf")
    (inside / "dir-link").symlink_to(outside)
    names = ["../out/secret.pdf", str(outside / "secret.pdf"), "sub/../../out/secret.pdf", "link.pdf",
             "dir-link/secret.pdf", "good.pdf\x00.txt", "", " ", ".", "sub"]
    rows = [f"DL2123456,F2026-{n:04d},invoice,2026-11-02,1.00,{name}" for n, name in enumerate(names)]
    (tmp_path / "docs.csv").write_text("customer,number,type,date,amount,pdf\n" + "\n".join(rows) +
                                       "\nDL2123456,F2026-0100,invoice,2026-11-02,1.00,good.pdf\n")
    env = {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
           "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"), "MAILFLOW_SECURITY_SECRET_KEY": "k"}
    result = invoke_cli(rt, ["document", "import", str(tmp_path / "docs.csv"), "--pdf-dir", str(inside)],
                                env=env, catch_exceptions=False)
    assert result.exit_code == 65, result.output
    assert f"imported 1 document(s), {len(names)} row(s) refused" in result.output
    assert [d.number for d in Document.select()] == ["F2026-0100"]
    secret = hashlib.sha256((outside / "secret.pdf").read_bytes()).hexdigest()
    assert not list((tmp_path / "pdfs").rglob(f"{secret}.pdf"))
