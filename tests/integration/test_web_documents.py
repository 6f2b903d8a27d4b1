"""The documents page over HTTP: scoping, bold unviewed rows, sorting, filters, bad parameters, PDFs, duplicates."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from mailflow.models import DuplicateRequest, Outbox, View
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.web import client, csrf, login

ROW = re.compile(r'<tr class="(unread|read)" data-document="(\d+)">')
NUMBER = re.compile(r'class="pdf-link" data-mark-read>([^<]+)</a>')


@pytest.fixture
def portfolio(rt):
    """Marie: two customer numbers with five documents; Jan sees only the first number."""
    marie = factories.customer(rt, "DL2123456").primary_user
    factories.customer(rt, "DL5000001", company="Garage Dupont Namur")
    factories.share(rt, "DL2123456")
    factories.document(rt, "DL2123456", "F2026-0042", "1234.56", "invoice", "2026-11-02")
    factories.document(rt, "DL2123456", "F2026-0007", "99.00", "invoice", "2026-03-15")
    factories.document(rt, "DL2123456", "C2026-0003", "250.00", "credit_note", "2026-06-30")
    factories.document(rt, "DL5000001", "F2026-9001", "5000.00", "invoice", "2026-09-01")
    factories.document(rt, "DL5000001", "F2025-1234", "10.50", "invoice", "2025-12-24")
    return marie


def numbers(html: str) -> list[str]:
    return NUMBER.findall(html)


def test_newest_first_across_every_visible_number_all_unread(rt, portfolio):
    web = login(client(rt), rt, portfolio)
    page = web.get("/documents")
    assert page.status_code == 200
    assert numbers(page.text) == ["F2026-0042", "F2026-9001", "C2026-0003", "F2026-0007", "F2025-1234"]
    assert {state for state, _ in ROW.findall(page.text)} == {"unread"}
    assert '<th scope="col" aria-sort="descending">' in page.text
    assert "1\u202f234,56\xa0€" in page.text  # Marie reads French amounts


def test_a_shared_user_sees_only_ticked_numbers(rt, portfolio):
    web = login(client(rt), rt, JAN_user())
    page = web.get("/documents")
    assert numbers(page.text) == ["F2026-0042", "C2026-0003", "F2026-0007"]
    assert "DL5000001" not in page.text


def test_clicking_a_header_sorts_and_clicking_again_reverses(rt, portfolio):
    web = login(client(rt), rt, portfolio)
    first = web.get("/documents")
    # each header's link carries #sort-<column>, where focus returns after the sort
    href = re.search(r'<a href="([^"]*sort=amount[^"]*)" id="sort-amount" class="sort', first.text).group(1).replace(
        "&amp;", "&")
    by_amount = web.get(href)
    assert numbers(by_amount.text) == ["F2026-9001", "F2026-0042", "C2026-0003", "F2026-0007", "F2025-1234"]
    again = re.search(r'<a href="([^"]*sort=amount[^"]*)" id="sort-amount" class="sort sorted', by_amount.text).group(1)
    reversed_ = web.get(again.replace("&amp;", "&"))
    assert numbers(reversed_.text) == ["F2025-1234", "F2026-0007", "C2026-0003", "F2026-0042", "F2026-9001"]
    assert numbers(web.get("/documents?sort=number").text)[0] == "C2026-0003"
    assert numbers(web.get("/documents?sort=type").text)[0] == "C2026-0003"
    assert numbers(web.get("/documents?sort=type&order=desc").text)[-1] == "C2026-0003"
    assert numbers(web.get("/documents?sort=customer&order=desc").text)[0] == "F2026-9001"


@pytest.mark.parametrize("query, expected", [
    ("customer=DL5000001", ["F2026-9001", "F2025-1234"]),
    ("customer=dl5000001", ["F2026-9001", "F2025-1234"]),
    ("type=credit_note", ["C2026-0003"]),
    ("date_from=2026-03-15&date_to=2026-06-30", ["C2026-0003", "F2026-0007"]),
    ("number=2026-00", ["F2026-0042", "C2026-0003", "F2026-0007"]),
    ("number=f2026 0042", ["F2026-0042"]),
    ("amount_min=99&amount_max=1234,56", ["F2026-0042", "C2026-0003", "F2026-0007"]),
    ("customer=DL2123456&type=invoice&date_from=2026-01-01&sort=amount&order=asc", ["F2026-0007", "F2026-0042"]),
    ("number=ZZZ", []),
])
def test_filters(rt, portfolio, query, expected):
    web = login(client(rt), rt, portfolio)
    page = web.get(f"/documents?{query}")
    assert page.status_code == 200 and numbers(page.text) == expected
    if not expected:
        assert "Aucun document ne correspond à ces filtres." in page.text


@pytest.mark.parametrize("query, message", [
    ("date_from=yesterday", "La date « du » doit être une date écrite AAAA-MM-JJ."),
    ("date_to=2026-13-01", "La date « au » doit être une date écrite AAAA-MM-JJ."),
    ("date_from=2026-05-01&date_to=2026-04-01", "La date « du » est postérieure à la date « au »."),
    ("amount_min=abc", "Le montant minimum doit être un nombre"),
    ("amount_max=-5", "Le montant maximum doit être un nombre"),
    ("amount_min=10&amount_max=5", "Le montant minimum dépasse le montant maximum."),
    ("amount_min=1.234", "Le montant minimum doit être un nombre"),
    ("type=receipt", "Le type doit être facture ou note de crédit."),
    ("customer=DL2999999", "Choisissez un de vos numéros de client."),
    ("sort=colour", "Les documents peuvent être triés par"),
    ("order=sideways", "L'ordre de tri doit être asc ou desc."),
    ("page=0", "La page doit être un nombre entier de 1 à 2000."),
    ("page=abc", "La page doit être un nombre entier"),
    ("page=99999", "La page doit être un nombre entier"),
    ("number=---", "Tapez quelques lettres ou chiffres du numéro de document."),
])
def test_bad_parameters_get_a_clear_400(rt, portfolio, query, message):
    web = login(client(rt), rt, portfolio)
    page = web.get(f"/documents?{query}")
    assert page.status_code == 400
    assert message.replace("'", "&#39;") in page.text
    if not query.startswith(("sort", "order", "page")):  # the field at fault is marked for screen readers
        assert 'aria-invalid="true"' in page.text


def test_a_shared_user_cannot_filter_on_a_number_not_ticked_for_them(rt, portfolio):
    web = login(client(rt), rt, JAN_user())
    assert web.get("/documents?customer=DL5000001").status_code == 400


def test_pages(rt, portfolio):
    for i in range(30):
        factories.document(rt, "DL2123456", f"F2024-{i:04d}", "10.00", "invoice", f"2024-01-{i % 28 + 1:02d}")
    web = login(client(rt), rt, portfolio)
    first, second = web.get("/documents"), web.get("/documents?page=2")
    assert len(numbers(first.text)) == 25 and len(numbers(second.text)) == 10
    assert not set(numbers(first.text)) & set(numbers(second.text))
    assert 'rel="next"' in first.text and 'rel="prev"' in second.text and 'rel="next"' not in second.text
    assert numbers(web.get("/documents?page=3").text) == []


def test_downloading_a_pdf_marks_it_viewed_for_that_user_only(rt, portfolio):
    web = login(client(rt), rt, portfolio)
    doc_id = dict((n, i) for (_, i), n in zip(ROW.findall(web.get("/documents").text),
                                              numbers(web.get("/documents").text)))["F2026-0042"]
    pdf = web.get(f"/documents/{doc_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="F2026-0042.pdf"'
    rows = dict((i, state) for state, i in ROW.findall(web.get("/documents").text))
    assert rows[doc_id] == "read" and list(rows.values()).count("unread") == 4
    web.get(f"/documents/{doc_id}/pdf")
    assert View.select().count() == 1
    jan = login(client(rt), rt, JAN_user())
    assert dict((i, s) for s, i in ROW.findall(jan.get("/documents").text))[doc_id] == "unread"


def test_documents_of_other_customer_numbers_are_not_found(rt, portfolio):
    stranger = factories.customer(rt, "DL2777777", factories.accounts.Person("x@other.example"),
                                  company="Other").primary_user
    web = login(client(rt), rt, stranger)
    for doc_id in (1, 4, 99999):
        assert web.get(f"/documents/{doc_id}/pdf").status_code == 404
        assert web.post(f"/documents/{doc_id}/duplicate", data={"csrf_token": csrf(web, "/documents")}
                        ).status_code == 404
    jan = login(client(rt), rt, JAN_user())
    assert jan.get("/documents/4/pdf").status_code == 404  # DL5000001 is not ticked for Jan
    assert View.select().count() == 0 and DuplicateRequest.select().count() == 0


def test_anonymous_visitors_are_sent_to_login(rt, portfolio):
    web = client(rt)
    assert web.get("/documents").headers["location"] == "/login?next=%2Fdocuments"  # and back here afterwards
    assert web.get("/documents/1/pdf").status_code == 303


def test_a_duplicate_is_mailed_with_the_pdf_and_rate_limited(rt, portfolio):
    web = login(client(rt), rt, portfolio)
    token = csrf(web, "/documents")
    back = "/documents?sort=amount"
    answer = web.post("/documents/1/duplicate", data={"csrf_token": token, "back": back})
    assert answer.status_code == 303 and answer.headers["location"] == back
    assert "Un duplicata de F2026-0042 est en route vers marie.dupont@example.be." in web.get(back).text
    mail = Outbox.get(Outbox.kind == "duplicate")
    message = message_from_bytes(bytes(mail.raw), policy=policy.default)
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "F2026-0042-duplicate.pdf"
    assert attachment.get_content().startswith(b"%PDF-")
    assert DuplicateRequest.get().via == "web"
    for _ in range(rt.config.limits.duplicates_per_document_per_day - 1):
        web.post("/documents/1/duplicate", data={"csrf_token": token})
    limited = web.post("/documents/1/duplicate", data={"csrf_token": token, "back": "//evil.example/"})
    assert limited.headers["location"] == "/documents"  # never an open redirect
    assert "plusieurs duplicatas" in web.get("/documents").text
    assert Outbox.select().where(Outbox.kind == "duplicate").count() == 3


def test_a_duplicate_needs_the_csrf_token(rt, portfolio):
    web = login(client(rt), rt, portfolio)
    assert web.post("/documents/1/duplicate", data={}).status_code == 403
    assert Outbox.select().where(Outbox.kind == "duplicate").count() == 0


def test_page_is_accessible_markup(rt, portfolio):
    page = login(client(rt), rt, portfolio).get("/documents").text
    for field in ("customer", "date_from", "date_to", "number", "type", "amount_min", "amount_max"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page
    assert page.count('<th scope="col"') == 6
    assert page.count('class="sort"') + page.count('class="sort sorted"') == 5  # sortable headers are links
