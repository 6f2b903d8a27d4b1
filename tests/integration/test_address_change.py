"""Change of address over HTTP: confirmed from the new mailbox, told to the old one with an undo, by the person,
their primary contact or staff; a bounced primary contact fixed through staff; replies follow the change."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from mailflow import address_change
from mailflow.accounts import Person, add_staff
from mailflow.inbound import bounces
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import (Access, AddressChange, AuditLog, Customer, InboundMessage, Preference, Session, User,
                             View)
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.web.viewer import record_view
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.outbox import link, mails_to, text
from tests.support.web import client, csrf_of, login, post

NEW = "marie@garage-dupont.be"


@pytest.fixture
def marie(rt):
    """Marie, primary contact of DL2123456 shared with Jan, who has seen one document."""
    user = factories.customer(rt, "DL2123456").primary_user
    factories.share(rt, "DL2123456")
    record_view(rt, user, factories.document(rt))
    return user


def ask(web, email: str = NEW):
    return post(web, "/settings/email", {"email": email})


def confirm(web, path: str):
    """Open a mailed link (GET shows a page, changes nothing) and press its button (POST)."""
    page = web.get(path)
    if page.status_code != 200:
        return page
    return web.post(path, data={"csrf_token": csrf_of(page.text)})


def test_a_user_changes_her_address_and_keeps_everything(rt, marie):
    web = login(client(rt), rt, marie)
    before = (list(Access.select().where(Access.user == marie)), Preference.get(Preference.user == marie).frequency)
    asked = ask(web)
    assert asked.status_code == 303 and User.get_by_id(marie.id).email == factories.MARIE.email
    [mail] = mails_to(NEW, "address_confirm")
    assert mail["Subject"] == "Confirmez votre nouvelle adresse e-mail" and "Vous avez demandé" in text(mail)
    path = link(mail, "/address/")
    shown = web.get(path)
    assert shown.status_code == 200 and NEW in shown.text
    assert User.get_by_id(marie.id).email == factories.MARIE.email  # the GET changed nothing
    done = web.post(path, data={"csrf_token": csrf_of(shown.text)})
    assert done.status_code == 303 and done.headers["location"] == "/settings"
    user = User.get_by_id(marie.id)
    assert user.email == NEW and Customer.get().primary_user_id == marie.id
    assert (list(Access.select().where(Access.user == user)), Preference.get(Preference.user == user).frequency) \
        == before and View.select().where(View.user == user).count() == 1
    [told] = mails_to(factories.MARIE.email, "address_changed")
    assert NEW in text(told) and "/address/undo/" in text(told)
    assert {a.action for a in AuditLog.select()} >= {"address.request", "address.change"}
    assert "Votre adresse e-mail est désormais" in web.get("/settings").text


def test_used_expired_and_replaced_links_are_refused(rt, marie, clock):
    web = login(client(rt), rt, marie)
    ask(web, "first@example.be")
    first = link(mails_to("first@example.be")[0], "/address/")
    ask(web, "second@example.be")
    assert web.get(first).status_code == 410  # a newer request replaced it
    second = link(mails_to("second@example.be")[0], "/address/")
    clock.advance(hours=rt.config.security.address_change_hours, seconds=1)
    expired = web.get(second)
    assert expired.status_code == 410 and "expiré" in expired.text
    clock.advance(hours=-2)
    assert confirm(web, second).status_code == 303
    again = web.post(second, data={"csrf_token": csrf_of(web.get("/settings").text)})
    assert again.status_code == 410 and User.get_by_id(marie.id).email == "second@example.be"
    assert web.get("/address/not-a-token").status_code == 410


def test_someone_elses_own_and_malformed_addresses_are_refused(rt, marie):
    web = login(client(rt), rt, marie)
    taken = ask(web, factories.JAN.email.upper())
    assert taken.status_code == 409 and "fusionner" in taken.text
    assert ask(web, factories.MARIE.email).status_code == 400
    assert ask(web, "not an address").status_code == 400
    assert AddressChange.select().count() == 0 and mails_to(factories.JAN.email, "address_confirm") == []


def test_an_address_taken_before_the_confirmation_is_refused_then(rt, marie):
    web = login(client(rt), rt, marie)
    ask(web)
    path = link(mails_to(NEW)[0], "/address/")
    factories.customer(rt, "DL2777777", Person(NEW), company="Other")
    assert confirm(web, path).status_code == 409
    assert User.get_by_id(marie.id).email == factories.MARIE.email
    assert AddressChange.get().status == "pending"  # nothing was used up


def test_changes_of_address_are_capped_per_account_and_day(rt, marie, clock):
    web = login(client(rt), rt, marie)
    cap = rt.config.limits.address_changes_per_day
    statuses = [ask(web, f"n{n}@example.be").status_code for n in range(cap + 1)]
    assert statuses == [303] * cap + [429]
    clock.advance(days=1)
    assert ask(login(client(rt), rt, marie), "tomorrow@example.be").status_code == 303


def test_the_old_address_undoes_the_change_and_logs_everyone_out(rt, marie, clock):
    web = login(client(rt), rt, marie)
    ask(web)
    confirm(web, link(mails_to(NEW)[0], "/address/"))
    undo = link(mails_to(factories.MARIE.email, "address_changed")[0], "/address/undo/")
    intruder = login(client(rt), rt, User.get_by_id(marie.id))
    owner = client(rt)
    page = owner.get(undo)
    assert page.status_code == 200 and factories.MARIE.email in page.text
    assert owner.post(undo, data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert User.get_by_id(marie.id).email == factories.MARIE.email
    assert intruder.get("/settings").status_code == 303  # logged out
    assert owner.get("/settings").status_code == 200  # the old mailbox's holder is in
    assert Session.select().where(Session.user == marie, Session.revoked_at.is_null()).count() == 1
    assert owner.get(undo).status_code == 410


def test_undo_has_a_deadline_and_needs_the_old_address_still_free(rt, marie, clock):
    web = login(client(rt), rt, marie)
    ask(web)
    confirm(web, link(mails_to(NEW)[0], "/address/"))
    undo = link(mails_to(factories.MARIE.email, "address_changed")[0], "/address/undo/")
    factories.customer(rt, "DL2777777", factories.MARIE, company="Someone at the old address")
    assert confirm(client(rt), undo).status_code == 409
    clock.advance(days=rt.config.security.address_undo_days, seconds=1)
    late = client(rt).get(undo)
    assert late.status_code == 410 and "délai" in late.text
    assert User.get_by_id(marie.id).email == NEW


def test_the_primary_contact_changes_a_shared_users_address(rt, marie):
    web = login(client(rt), rt, marie)
    jan = JAN_user()
    asked = post(web, f"/sharing/{jan.id}/email", {"email": "jan@peeters.example"}, page="/sharing")
    assert asked.status_code == 303
    [mail] = mails_to("jan@peeters.example", "address_confirm")
    assert "Marie Dupont" in text(mail) and mail["Subject"] == "Bevestig uw nieuwe e-mailadres"  # Jan's language
    confirm(client(rt), link(mail, "/address/"))
    assert User.get_by_id(jan.id).email == "jan@peeters.example"
    assert Access.get(Access.user == jan).customer.number == "DL2123456"


def test_only_for_ones_own_shared_users_and_only_as_primary_contact(rt, marie):
    stranger = factories.customer(rt, "DL2444444", Person("s@x.example"), company="S").primary_user
    jan = JAN_user()
    other = login(client(rt), rt, stranger)
    assert post(other, f"/sharing/{jan.id}/email", {"email": "x@y.example"}, page="/sharing").status_code == 404
    as_jan = login(client(rt), rt, jan)
    assert post(as_jan, f"/sharing/{marie.id}/email", {"email": "x@y.example"}).status_code == 403
    assert AddressChange.select().count() == 0


def test_staff_change_an_address_with_an_audit_record(rt, marie):
    staff = add_staff(rt, Person("desk@lease.example"))
    web = login(client(rt), rt, staff)
    answer = post(web, f"/staff/users/{marie.id}/email", {"email": NEW}, page=f"/staff/users/{marie.id}")
    assert answer.status_code == 303
    assert "notre service clientèle" in text(mails_to(NEW, "address_confirm")[0]).lower()
    assert AuditLog.get(AuditLog.action == "address.request").actor == "staff:desk@lease.example"
    confirm(client(rt), link(mails_to(NEW)[0], "/address/"))
    page = web.get(f"/staff/users/{marie.id}")
    assert NEW in page.text and "confirmée" in page.text


def test_a_bounced_primary_contact_is_fixed_through_a_shared_users_hint_and_staff(rt, marie):
    bounces.suppress(rt, factories.MARIE.email, "bounce 5.1.1 user unknown")
    [customer] = bounces.dead_primary(rt, factories.MARIE.email)
    [notice] = mails_to(factories.JAN.email, "primary_bounced")
    hint = link(notice, "/primary-contact/")
    jan = login(client(rt), rt, JAN_user())
    assert "DL2123456" in jan.get(hint).text
    assert post(jan, hint, {"email": NEW}, page=hint).status_code == 303
    assert mails_to(NEW) == []  # nobody but staff starts a change of someone else's account
    staff = login(client(rt), rt, add_staff(rt, Person("desk@lease.example")))
    assert "DL2123456" in staff.get("/staff/people").text
    detail = staff.get(f"/staff/users/{marie.id}").text
    assert NEW in detail and factories.JAN.email in detail
    post(staff, f"/staff/users/{marie.id}/email", {"email": NEW}, page=f"/staff/users/{marie.id}")
    confirm(client(rt), link(mails_to(NEW)[0], "/address/"))
    assert Customer.get_by_id(customer.id).primary_user.email == NEW
    assert address_change.dead_primaries() == []


def test_a_shared_user_names_a_new_address_only_for_a_bounced_contact_of_theirs(rt, marie):
    jan = login(client(rt), rt, JAN_user())
    customer = Customer.get()
    assert "niets te herstellen" in jan.get(f"/primary-contact/{customer.id}").text
    assert post(jan, f"/primary-contact/{customer.id}", {"email": NEW}, page="/settings").status_code == 303
    assert AddressChange.select().count() == 0  # mail to Marie is delivered: nothing to suggest
    assert login(client(rt), rt, marie).get(f"/primary-contact/{customer.id}").status_code == 404


def _reply(rt, sender: str, notice: EmailMessage) -> InboundMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, notice["Reply-To"], "Re: " + notice["Subject"]
    msg["Message-ID"] = make_msgid(domain="client.example")
    msg.set_content("HEBDOMADAIRE")
    store_raw(rt, msg.as_bytes(), "pipe", sender, [notice["Reply-To"]])
    InboundWorker(rt).flush()
    return InboundMessage.select().order_by(InboundMessage.id.desc()).get()


def test_a_reply_from_the_new_address_acts_only_once_the_change_is_confirmed(rt, marie):
    [notice] = mails_to(factories.MARIE.email, "notice")
    web = login(client(rt), rt, marie)
    ask(web)
    assert _reply(rt, NEW, notice).status == "staff"  # until confirmed, just another address
    assert Preference.get(Preference.user == marie).frequency == "immediate"
    confirm(web, link(mails_to(NEW)[0], "/address/"))
    assert _reply(rt, NEW, notice).status == "processed"  # the token names Marie's account, now at NEW
    assert Preference.get(Preference.user == marie).frequency == "weekly"
    DeliveryWorker(rt).flush()
