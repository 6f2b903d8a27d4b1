"""The staff console over HTTP: staff only, inbound, outbound, suppressions, people, codes, merging accounts."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mailflow import actions, activation
from mailflow.accounts import Person, add_staff
from mailflow.account_merge import merge
from mailflow.inbound import bounces
from mailflow.inbound.store import store_raw
from mailflow.models import (
    Access, AuditLog, Customer, InboundMessage, Notification, Outbox, Preference, Session, Share, Token, User, View,
)
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.web import client, login, post

QUESTION = (b"From: Paul Renard <paul@clinic.example>\r\nTo: support@reply.mailflow.example\r\n"
            b"Subject: Question about my invoice\r\nMessage-ID: <q1@clinic.example>\r\n\r\n"
            b"Hello, why is my invoice higher this month?\r\n")


@pytest.fixture
def staff(rt):
    factories.customer(rt, "DL2123456")
    factories.share(rt, "DL2123456")
    return add_staff(rt, Person("sam@support.example", "Sam", "Support", "en"))


@pytest.fixture
def staff_web(rt, staff):
    return login(client(rt), rt, staff)


PAGES = ["/staff", "/staff/inbound", "/staff/outbound", "/staff/bounces", "/staff/people", "/staff/users/1"]


@pytest.mark.parametrize("path", PAGES)
def test_staff_pages_are_for_staff_only(rt, staff, path):
    assert client(rt).get(path).status_code == 303  # anonymous: log in first
    marie = login(client(rt), rt, User.get(User.email == "marie.dupont@example.be"))
    assert marie.get(path).status_code == 403
    assert login(client(rt), rt, staff).get(path).status_code == 200


def test_staff_posts_are_for_staff_only(rt, staff):
    marie = login(client(rt), rt, User.get(User.email == "marie.dupont@example.be"))
    jan = JAN_user()
    assert post(marie, f"/staff/users/{jan.id}/invitation", page="/documents").status_code == 403
    assert post(marie, "/staff/merge", {"keep": "marie.dupont@example.be", "other": jan.email},
                page="/documents").status_code == 403
    assert User.get_by_id(jan.id).merged_into_id is None and Outbox.select().count() == 0


def test_inbound_list_detail_raw_reprocess_and_answer(rt, staff_web):
    row = store_raw(rt, QUESTION, "smtp", "paul@clinic.example", ["support@reply.mailflow.example"])
    listing = staff_web.get("/staff/inbound")
    assert listing.status_code == 200 and "received" in listing.text
    raw = staff_web.get(f"/staff/inbound/{row.id}/raw")
    assert raw.content == QUESTION and raw.headers["content-type"].startswith("text/plain")
    assert raw.headers["content-disposition"] == f'attachment; filename="inbound-{row.id}.eml.txt"'
    assert post(staff_web, f"/staff/inbound/{row.id}/reprocess", page=f"/staff/inbound/{row.id}").status_code == 303
    processed = InboundMessage.get_by_id(row.id)
    assert processed.status not in ("received", "failed")
    assert AuditLog.get(AuditLog.action == "inbound.reprocess").actor == "staff:sam@support.example"
    detail = staff_web.get(f"/staff/inbound/{row.id}")
    assert "why is my invoice higher" in detail.text and "Question about my invoice" in detail.text
    answer = post(staff_web, f"/staff/inbound/{row.id}/answer", {"body": "Dear Paul,\n\nThe rate changed.<b>"},
                  page=f"/staff/inbound/{row.id}")
    assert answer.status_code == 303
    out = Outbox.get(Outbox.kind == "answer")
    message = message_from_bytes(bytes(out.raw), policy=policy.default)
    assert out.recipient == "paul@clinic.example" and message["In-Reply-To"] == "<q1@clinic.example>"
    assert message["Subject"] == "Re: Question about my invoice" and message["Auto-Submitted"] == "no"
    assert "&lt;b&gt;" in message.get_body(("html",)).get_content()
    assert InboundMessage.get_by_id(row.id).status == "processed"


def test_an_empty_answer_is_refused(rt, staff_web):
    row = store_raw(rt, QUESTION, "smtp")
    InboundMessage.update(from_addr="paul@clinic.example", status="staff").execute()
    refused = post(staff_web, f"/staff/inbound/{row.id}/answer", {"body": "  "}, page=f"/staff/inbound/{row.id}")
    assert refused.status_code == 400 and Outbox.select().count() == 0


def test_filters_and_unknown_ids(rt, staff_web):
    store_raw(rt, QUESTION, "smtp")
    assert "No messages." in staff_web.get("/staff/inbound?status=failed").text
    assert "No messages." not in staff_web.get("/staff/inbound?status=received").text
    assert staff_web.get("/staff/inbound?status=weird").status_code == 400
    assert staff_web.get("/staff/inbound/999").status_code == 404
    assert staff_web.get("/staff/inbound/999/raw").status_code == 404
    assert staff_web.get("/staff/outbound?status=nonsense").status_code == 400


def test_a_purged_raw_message_says_so(rt, staff_web):
    row = store_raw(rt, QUESTION, "smtp")
    InboundMessage.update(raw=None).where(InboundMessage.id == row.id).execute()
    assert staff_web.get(f"/staff/inbound/{row.id}/raw").status_code == 404


def test_outbound_retry_of_a_failed_mail(rt, staff_web):
    factories.document(rt)
    failed = Outbox.select().first()
    Outbox.update(status="failed", last_response="550 5.1.1 no such user").where(Outbox.id == failed.id).execute()
    page = staff_web.get("/staff/outbound?status=failed")
    assert "550 5.1.1 no such user" in page.text and f"/staff/outbound/{failed.id}/retry" in page.text
    assert post(staff_web, f"/staff/outbound/{failed.id}/retry", page="/staff/outbound").status_code == 303
    assert Outbox.get_by_id(failed.id).status == "queued"
    sent = Outbox.select().where(Outbox.id != failed.id).first()
    post(staff_web, f"/staff/outbound/{sent.id}/retry", page="/staff/outbound")
    assert Outbox.get_by_id(sent.id).status == "queued"  # still queued, nothing changed
    assert AuditLog.select().where(AuditLog.action == "outbox.retry").count() == 1


def test_lifting_a_suppression(rt, staff_web):
    row = bounces.suppress(rt, "marie.dupont@example.be", "550 mailbox unknown")
    assert "marie.dupont@example.be" in staff_web.get("/staff/bounces").text
    assert post(staff_web, f"/staff/suppressions/{row.id}/lift", page="/staff/bounces").status_code == 303
    lifted = type(row).get_by_id(row.id)
    assert lifted.lifted_at is not None and lifted.score == 0
    assert f"/staff/suppressions/{row.id}/lift" not in staff_web.get("/staff/bounces").text
    assert "<td>marie.dupont@example.be</td>" not in staff_web.get("/staff/bounces").text
    assert "<td>marie.dupont@example.be</td>" in staff_web.get("/staff/bounces?show=all").text


def test_search_resend_invitation_and_issue_a_code(rt, staff_web):
    page = staff_web.get("/staff/people?q=garage")
    assert "DL2123456" in page.text and "compta@fiduciaire.example" not in page.text
    assert "compta@fiduciaire.example" in staff_web.get("/staff/people?q=fiduciaire").text
    jan = JAN_user()
    assert post(staff_web, f"/staff/users/{jan.id}/invitation", page="/staff").status_code == 303
    invite = Outbox.get(Outbox.kind == "invitation")
    assert invite.recipient == jan.email
    customer = Customer.get(Customer.number == "DL2123456")
    issued = post(staff_web, f"/staff/customers/{customer.id}/activation-code", page="/staff")
    code = issued.text.split('class="code-display"')[1].split(">")[1].split("<")[0]
    assert activation.redeem(rt, customer.primary_user, code).paperless


def test_merge_through_the_console(rt, staff_web):
    factories.document(rt)
    jan = JAN_user()
    other = factories.share(rt, "DL2123456", Person("jan.peeters@private.example", "Jan", "Peeters", "nl"))
    review = staff_web.get(f"/staff/merge?keep={jan.email}&other={other.email}")
    assert review.status_code == 200 and "DL2123456 (shared)" in review.text
    done = post(staff_web, "/staff/merge", {"keep": jan.email, "other": other.email}, page="/staff/people")
    assert done.status_code == 303 and done.headers["location"] == f"/staff/users/{jan.id}"
    assert User.get_by_id(other.id).merged_into_id == jan.id
    same = post(staff_web, "/staff/merge", {"keep": jan.email, "other": jan.email}, page="/staff/people")
    assert same.headers["location"] == "/staff/people"


def test_merge_moves_everything_and_resolves_duplicates(rt, staff):
    marie = User.get(User.email == "marie.dupont@example.be")
    second = factories.customer(rt, "DL5000001", Person("m.dupont@garage.example", "Marie", "Dupont"),
                                company="Namur").primary_user
    factories.share(rt, "DL5000001", factories.JAN)  # Jan is a shared user of both addresses
    factories.share(rt, "DL2123456", Person("m.dupont@garage.example"))  # and Marie shared with her other self
    factories.document(rt, "DL2123456", "F1")
    doc = factories.document(rt, "DL5000001", "F2")
    View.create(user=second, document=doc, viewed_at=rt.now().replace(tzinfo=None))
    actions.set_frequency(rt, second, "weekly")
    web = login(client(rt), rt, second)
    merge(rt, marie, second, "staff:test")
    assert {(a.customer.number, a.role) for a in Access.select().where(Access.user == marie)} == {
        ("DL2123456", "primary"), ("DL5000001", "primary")}
    assert Customer.get(Customer.number == "DL5000001").primary_user_id == marie.id
    assert Access.select().where(Access.user == second).count() == 0
    assert View.get().user_id == marie.id
    assert {p.customer.number: p.frequency for p in Preference.select().where(Preference.user == marie)} == {
        "DL2123456": "immediate", "DL5000001": "weekly"}
    assert Notification.select().where(Notification.user == second).count() == 0
    assert {(s.owner_id, s.user_id) for s in Share.select()} == {(marie.id, JAN_user().id)}
    assert all(s.revoked_at for s in Session.select().where(Session.user == second))
    assert all(t.revoked_at or t.used_at for t in Token.select().where(Token.user == second))
    assert web.get("/documents").status_code == 303  # the retired account's session is gone
    assert AuditLog.get(AuditLog.action == "user.merge").subject == "m.dupont@garage.example"


def test_a_retired_accounts_link_logs_into_the_kept_account(rt, staff):
    marie = User.get(User.email == "marie.dupont@example.be")
    second = factories.customer(rt, "DL5000001", Person("m.dupont@garage.example"), company="N").primary_user
    merge(rt, marie, second, "staff:test")
    web = login(client(rt), rt, User.get_by_id(second.id))
    assert "DL5000001" in web.get("/documents").text and "Marie" in web.get("/settings").text
