"""The JSON API: the document list for tools (session or personal token), publishing with an issuer key."""

from __future__ import annotations

import json

import pytest

from mailflow.issuers import sync_issuers
from mailflow.models import Document, Notification, Outbox, User
from mailflow.pdf import simple_pdf
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.web import client, login, post

KEY = "dl2-back-office-key-0123456789"


@pytest.fixture
def keyed(rt):
    """DL2 has an API key; DL5 has one of its own."""
    rt.config.issuers[0].api_key = KEY
    rt.config.issuers[1].api_key = "dl5-key-abcdefabcdef"
    sync_issuers(rt.config.issuers)
    factories.customer(rt, "DL2123456")
    factories.customer(rt, "DL5000001", company="Namur")
    factories.share(rt, "DL2123456")
    return rt


def _documents(rt):
    factories.document(rt, "DL2123456", "F2026-0042", "1234.56", "invoice", "2026-11-02")
    factories.document(rt, "DL5000001", "F2026-9001", "5000.00", "invoice", "2026-09-01")


def test_the_list_as_json_with_a_session(rt, keyed):
    _documents(rt)
    web = login(client(rt), rt, User.get(User.email == "marie.dupont@example.be"))
    body = web.get("/api/documents?sort=amount&order=asc").json()
    assert [d["number"] for d in body["documents"]] == ["F2026-0042", "F2026-9001"]
    first = body["documents"][0]
    assert first == {"id": first["id"], "number": "F2026-0042", "type": "invoice", "date": "2026-11-02",
                     "customer": "DL2123456", "amount": "1234.56", "currency": "EUR", "viewed": False,
                     "pdf": f"https://portal.example.test/api/documents/{first['id']}/pdf"}
    assert body["page"] == 1 and body["has_next"] is False and body["filter"] == {"sort": "amount",
                                                                                  "order": "asc"}


def test_a_personal_token_made_on_the_settings_page_reads_the_list(rt, keyed):
    _documents(rt)
    web = login(client(rt), rt, JAN_user())
    assert post(web, "/settings/api-token").headers["location"] == "/settings"  # POST, redirect, GET
    page = web.get("/settings")
    token = page.text.split('id="new-token" class="token" readonly value="')[1].split('"')[0]
    assert token.startswith("mf_") and JAN_user().api_token_hash != token
    tool = client(rt)
    listed = tool.get("/api/documents", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert [d["customer"] for d in listed.json()["documents"]] == ["DL2123456"]  # only what Jan may see
    doc_id = listed.json()["documents"][0]["id"]
    pdf = tool.get(f"/api/documents/{doc_id}/pdf", headers={"Authorization": f"Bearer {token}"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    other = Document.get(Document.number == "F2026-9001").id
    assert tool.get(f"/api/documents/{other}/pdf", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    post(web, "/settings/api-token/revoke")
    assert tool.get("/api/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_list_refuses_missing_or_wrong_credentials(rt, keyed):
    web = client(rt)
    missing = web.get("/api/documents")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "error" in missing.json()
    assert web.get("/api/documents", headers={"Authorization": "Bearer mf_wrong"}).status_code == 401
    assert web.get("/api/documents", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401  # issuer key


def test_the_list_says_which_parameter_is_wrong(rt, keyed):
    web = login(client(rt), rt, User.get(User.email == "marie.dupont@example.be"))
    bad = web.get("/api/documents?amount_min=lots")
    assert bad.status_code == 400 and bad.json()["field"] == "amount_min" and "amount_min" in bad.json()["error"]
    assert web.get("/api/documents?customer=DL2999999").json()["field"] == "customer"


def _publish(web, metadata, pdf: bytes | None = None, **headers):
    files = {"metadata": (None, metadata if isinstance(metadata, str) else json.dumps(metadata))}
    if pdf is not None:
        files["pdf"] = ("F2026-0100.pdf", pdf, "application/pdf")
    return web.post("/api/documents", files=files, headers=headers)


META = {"customer": "DL2123456", "number": "F2026-0100", "type": "invoice", "date": "2026-11-02",
        "amount": "150.00"}


def test_an_issuer_publishes_a_document_like_the_cli(rt, keyed):
    answer = _publish(client(rt), META, simple_pdf("Invoice F2026-0100"), **{"X-Api-Key": KEY})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"id": answer.json()["id"], "number": "F2026-0100", "customer": "DL2123456",
                             "type": "invoice", "date": "2026-11-02", "amount": "150.00"}
    assert Notification.select().count() == 2  # Marie and Jan
    assert Outbox.select().where(Outbox.kind == "notice").count() == 2
    bearer = _publish(client(rt), META | {"number": "F2026-0101"}, simple_pdf("x"),
                      Authorization=f"Bearer {KEY}")
    assert bearer.status_code == 201


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}])
def test_publishing_needs_a_valid_issuer_key(rt, keyed, headers):
    answer = _publish(client(rt), META, simple_pdf("x"), **headers)
    assert answer.status_code == 401 and Document.select().count() == 0


def test_an_issuer_cannot_publish_for_another_issuers_customer(rt, keyed):
    answer = _publish(client(rt), META | {"customer": "DL5000001"}, simple_pdf("x"), **{"X-Api-Key": KEY})
    assert answer.status_code == 403 and answer.json()["field"] == "customer"
    assert Document.select().count() == 0


@pytest.mark.parametrize("metadata, pdf, status, field", [
    ("not json", simple_pdf("x"), 400, "metadata"),
    ("[1, 2]", simple_pdf("x"), 400, "metadata"),
    (META | {"amount": None}, simple_pdf("x"), 400, "amount"),
    (META | {"amount": "-3"}, simple_pdf("x"), 400, "amount"),
    (META | {"date": "02/11/2026"}, simple_pdf("x"), 400, "date"),
    (META | {"type": "receipt"}, simple_pdf("x"), 400, "type"),
    (META | {"customer": "DL2999999"}, simple_pdf("x"), 404, "customer"),
    (META | {"customer": "XX1"}, simple_pdf("x"), 400, "customer"),
    (META, None, 400, "pdf"),
    (META, b"GIF89a not a pdf", 400, "pdf"),
])
def test_publishing_errors_are_json_with_the_right_status(rt, keyed, metadata, pdf, status, field):
    answer = _publish(client(rt), metadata, pdf, **{"X-Api-Key": KEY})
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field and answer.json()["error"]
    assert Document.select().count() == 0


def test_publishing_the_same_number_twice_is_a_conflict(rt, keyed):
    assert _publish(client(rt), META, simple_pdf("x"), **{"X-Api-Key": KEY}).status_code == 201
    again = _publish(client(rt), META, simple_pdf("y"), **{"X-Api-Key": KEY})
    assert again.status_code == 409 and Document.select().count() == 1


def test_an_empty_key_never_matches_an_issuer_without_one(rt):
    factories.customer(rt, "DL2123456")
    assert _publish(client(rt), META, simple_pdf("x"), **{"X-Api-Key": ""}).status_code == 401
