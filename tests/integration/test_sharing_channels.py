"""Sharing "in the portal or by notification": per shared user and customer number, portal and notifications,
portal only or notifications only; private customers do not share."""

from __future__ import annotations

import pytest

from mailflow import accounts, actions
from mailflow.accounts import Person
from mailflow.errors import PermissionDenied
from mailflow.models import Access, Customer, Notification, Outbox, Share, User
from mailflow.scheduler import digests
from tests.support import factories
from tests.support.cli import invoke
from tests.support.factories import JAN_user
from tests.support.outbox import mails_to, text
from tests.support.web import client, login, post

AN = Person("an@accountant.example", "An", "Claes", "nl")


@pytest.fixture
def marie(rt):
    """Marie shares DL2123456 with Jan by notification only and with An in the portal only."""
    user = factories.customer(rt, "DL2123456").primary_user
    factories.customer(rt, "DL5000001", company="Garage Dupont Namur")
    accounts.share(rt, "DL2123456", factories.JAN, channels="mail")
    accounts.share(rt, "DL2123456", AN, channels="portal")
    return user


def test_notifications_only_get_the_pdf_by_mail_and_portal_only_get_no_mail(rt, marie):
    factories.document(rt)
    [notice] = mails_to(factories.JAN.email, "notice")
    [pdf] = [p for p in notice.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "F2026-0042.pdf" and pdf.get_content().startswith(b"%PDF")
    assert "/documents" not in text(notice) and "/auth/" not in text(notice)  # no page that would not show it
    assert "DUPLICAAT" in text(notice)
    assert mails_to(AN.email) == [] and not Notification.select().where(
        Notification.user == User.get(User.email == AN.email)).exists()
    assert len(mails_to(marie.email, "notice")) == 1


def test_notifications_only_do_not_see_the_documents_in_the_viewer_or_the_api(rt, marie):
    document = factories.document(rt)
    jan = login(client(rt), rt, JAN_user())
    assert "F2026-0042" not in jan.get("/documents").text
    assert jan.get(f"/documents/{document.id}/pdf").status_code == 404
    assert jan.get("/api/documents").json()["documents"] == []
    an = login(client(rt), rt, User.get(User.email == AN.email))
    assert "F2026-0042" in an.get("/documents").text
    assert an.get(f"/documents/{document.id}/pdf").status_code == 200


def test_notifications_only_can_still_ask_a_duplicate_by_reply(rt, marie):
    document = factories.document(rt)
    request = actions.duplicate(rt, JAN_user(), document.id, via="mail")
    assert request.outbox.recipient == factories.JAN.email


def test_digests_follow_the_channels(rt, marie, clock):
    jan = JAN_user()
    actions.set_frequency(rt, jan, "daily")
    factories.document(rt)
    [pending] = [p for p in digests.load([jan.id], digests.period_for(rt, "daily", clock.advance(days=1)))]
    assert pending.groups[0].mail_only
    digests.run(rt, "daily")
    [digest] = mails_to(jan.email, "digest")
    assert "DUPLICAAT" in text(digest) and "/documents?customer" not in text(digest)


def test_a_pending_digest_note_is_dropped_when_the_access_becomes_portal_only(rt, marie, clock):
    jan = JAN_user()
    actions.set_frequency(rt, jan, "weekly")
    factories.document(rt)
    accounts.set_ticked(rt, marie, jan, Customer.get(Customer.number == "DL2123456"), True, "portal")
    clock.advance(days=8)
    report = digests.run(rt, "weekly")
    assert report.hidden == 1 and mails_to(jan.email, "digest") == []


def test_the_sharing_page_sets_the_channels_per_person_and_number(rt, marie):
    web = login(client(rt), rt, marie)
    jan = JAN_user()
    ids = {c.number: c.id for c in Customer.select()}
    page = web.get("/sharing")
    assert f'name="channels_{ids["DL2123456"]}" id="channels-{jan.id}-{ids["DL2123456"]}"' in page.text
    answer = post(web, f"/sharing/{jan.id}", {"customer": [str(ids["DL2123456"]), str(ids["DL5000001"])],
                                              f"channels_{ids['DL2123456']}": "both",
                                              f"channels_{ids['DL5000001']}": "portal"}, page="/sharing")
    assert answer.status_code == 303
    got = {a.customer.number: a.channels for a in Access.select().where(Access.user == jan)}
    assert got == {"DL2123456": "both", "DL5000001": "portal"}
    added = post(web, "/sharing/add", {"email": "new@example.be", "customer": [str(ids["DL5000001"])],
                                      "channels": "mail"}, page="/sharing")
    assert added.status_code == 303
    [invite] = mails_to("new@example.be", "invitation")
    assert "/auth/" not in text(invite) and "PDF" in text(invite)


def test_private_customers_cannot_share(rt, marie, tmp_path, database_url):
    env = {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
           "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"),
           "MAILFLOW_SECURITY_SECRET_KEY": rt.config.security.secret_key}
    added = invoke(rt, ["customer", "add", "DL2900000", "--company", "Jean Dupuis", "--email", marie.email,
                        "--kind", "private"], env=env)
    assert added.exit_code == 0 and "private" in added.stdout
    private = Customer.get(Customer.number == "DL2900000")
    assert private.kind == "private" and Customer.get(Customer.number == "DL2123456").kind == "business"
    with pytest.raises(PermissionDenied):
        accounts.share(rt, "DL2900000", AN)
    refused = invoke(rt, ["user", "share", "DL2900000", "someone@example.be"], env=env)
    assert refused.exit_code == 77 and "private customer" in refused.stderr
    web = login(client(rt), rt, marie)
    page = web.get("/sharing").text
    assert "Privé" in page and f'value="{private.id}"' not in page
    forged = post(web, "/sharing/add", {"email": "x@example.be", "customer": [str(private.id)]}, page="/sharing")
    assert forged.status_code == 400 and not User.select().where(User.email == "x@example.be").exists()
    jan = JAN_user()
    post(web, f"/sharing/{jan.id}", {"customer": [str(private.id)]}, page="/sharing")
    assert not Access.select().where(Access.customer == private, Access.user == jan).exists()
    assert Share.select().where(Share.owner == marie).count() == 2


def test_a_customer_kind_must_be_known(rt):
    with pytest.raises(accounts.ValidationError):
        accounts.add_customer(rt, "DL2123456", "X", factories.MARIE, kind="public")
    assert not Outbox.select().exists()
