"""A way to reach people: mail to the support address naming a customer or document number is linked to them
for staff, who answer from the console, threaded, in the person's language and in the issuer's name."""

from __future__ import annotations

import pytest

from mailflow.accounts import Person, add_staff
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import InboundMention, User
from tests.support import factories
from tests.support.outbox import mails_to, text
from tests.support.web import client, login, post


def question(sender: str, body: str, message_id: str = "<q1@clinic.example>") -> bytes:
    return (f"From: {sender}\r\nTo: support@reply.mailflow.example\r\nSubject: Question\r\n"
            f"Message-ID: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def console(rt):
    factories.customer(rt, "DL2123456")
    factories.share(rt, "DL2123456")
    factories.document(rt)
    staff = add_staff(rt, Person("sam@support.example", "Sam", "Support", "en"))
    return login(client(rt), rt, staff)


def received(rt, raw: bytes) -> int:
    row = store_raw(rt, raw, "smtp", None, ["support@reply.mailflow.example"])
    InboundWorker(rt).flush()
    return row.id


def test_a_message_naming_a_customer_and_a_document_is_linked_to_both(rt, console):
    message_id = received(rt, question("paul@clinic.example", "Bonjour, client dl2123456 : pourquoi la facture "
                                                               "F2026 0042 est-elle si élevée ? Et DL9999999 ?"))
    found = {(m.customer.number, m.document.number if m.document_id else None)
             for m in InboundMention.select().where(InboundMention.inbound == message_id)}
    assert found == {("DL2123456", None), ("DL2123456", "F2026-0042")}  # DL9999999 does not exist
    detail = console.get(f"/staff/inbound/{message_id}").text
    assert 'href="/staff/people?q=DL2123456"' in detail and "F2026-0042" in detail
    marie = User.get(User.email == factories.MARIE.email)
    assert f'href="/staff/inbound/{message_id}"' in console.get(f"/staff/users/{marie.id}").text


def test_an_answer_to_a_stranger_speaks_the_customers_language_in_its_issuers_name(rt, console):
    message_id = received(rt, question("paul@clinic.example", "Question sur DL2123456, merci."))
    page = f"/staff/inbound/{message_id}"
    assert '<option value="fr" lang="fr" selected>' in console.get(page).text  # Marie, the primary contact, is French
    assert post(console, f"{page}/answer", {"body": "Le tarif a changé.\nVoir votre contrat.", "language": "fr"},
                page=page).status_code == 303
    [answer] = mails_to("paul@clinic.example", "answer")
    assert answer["In-Reply-To"] == "<q1@clinic.example>" and answer["References"] == "<q1@clinic.example>"
    assert answer["Subject"] == "Re: Question" and answer["From"] == f"Lease Services <{rt.config.outbound.from_address}>"
    body = text(answer).replace("\r\n", "\n")
    assert body.startswith("Lease Services\n\nBonjour paul@clinic.example,\n\nLe tarif a changé.\nVoir votre contrat.")
    assert "Le service clientèle de Lease Services" in body and "Des questions\u00a0?" in body


def test_an_answer_to_a_user_is_in_their_own_language_and_a_stranger_gets_the_one_chosen(rt, console):
    jan_message = received(rt, question(factories.JAN.email, "Hoi, een vraag over mijn factuur."))
    assert 'name="language"' not in console.get(f"/staff/inbound/{jan_message}").text  # his account says Dutch
    post(console, f"/staff/inbound/{jan_message}/answer", {"body": "Dat klopt."}, page=f"/staff/inbound/{jan_message}")
    assert text(mails_to(factories.JAN.email, "answer")[-1]).count("Met vriendelijke groeten,") == 1
    other = received(rt, question("heinz@metzgerei.example", "Guten Tag", "<q2@metzgerei.example>"))
    post(console, f"/staff/inbound/{other}/answer", {"body": "Gerne.", "language": "de"}, page=f"/staff/inbound/{other}")
    assert "Mit freundlichen Grüßen" in text(mails_to("heinz@metzgerei.example", "answer")[-1])
