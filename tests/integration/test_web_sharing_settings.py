"""Sharing (primary contacts only) and settings over HTTP: invitations, ticks, edits, frequencies, audit."""

from __future__ import annotations

import json
from email import message_from_bytes, policy

import pytest

from mailflow.accounts import Person
from mailflow.models import Access, AuditLog, Customer, Notification, Outbox, Preference, Share, User
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.web import client, login, post


@pytest.fixture
def marie(rt):
    """Marie is primary contact of two customer numbers and shares the first with Jan."""
    user = factories.customer(rt, "DL2123456").primary_user
    factories.customer(rt, "DL5000001", company="Garage Dupont Namur")
    factories.share(rt, "DL2123456")
    return user


def _ids() -> dict[str, int]:
    return {c.number: c.id for c in Customer.select()}


def _sees(user: User) -> set[str]:
    return {a.customer.number for a in Access.select().where(Access.user == user)}


def test_the_sharing_page_lists_people_with_their_ticks(rt, marie):
    web = login(client(rt), rt, marie)
    page = web.get("/sharing")
    assert page.status_code == 200 and "compta@fiduciaire.example" in page.text
    jan = JAN_user()
    ids = _ids()
    assert f'id="tick-{jan.id}-{ids["DL2123456"]}" name="customer" value="{ids["DL2123456"]}" checked' in page.text
    assert f'id="tick-{jan.id}-{ids["DL5000001"]}" name="customer" value="{ids["DL5000001"]}">' in page.text


def test_adding_a_shared_user_ticks_chosen_numbers_and_sends_an_invitation(rt, marie):
    web = login(client(rt), rt, marie)
    ids = _ids()
    answer = post(web, "/sharing/add", {"email": "An.Claes@Accountant.example", "first_name": "An",
                                       "last_name": "Claes", "language": "nl",
                                       "customer": [str(ids["DL5000001"])]}, page="/sharing")
    assert answer.status_code == 303
    an = User.get(User.email == "an.claes@accountant.example")
    assert an.language == "nl" and _sees(an) == {"DL5000001"}
    invite = Outbox.get(Outbox.recipient == "an.claes@accountant.example")
    message = message_from_bytes(bytes(invite.raw), policy=policy.default)
    assert invite.kind == "invitation" and message["Subject"] == "De documenten van Garage Dupont Namur worden met u gedeeld"
    assert "Marie Dupont" in message.get_body(("plain",)).get_content()  # named in the text, never the subject
    assert "https://portal.example.test/auth/" in message.get_body(("plain",)).get_content()
    actions = [row.action for row in AuditLog.select().order_by(AuditLog.id)]
    assert "share.add" in actions and "invitation.send" in actions


def test_sharing_invitations_are_capped_per_primary_contact_and_day_and_her_words_stay_out_of_subjects(
        rt, marie, clock):
    marie.first_name, marie.last_name = "Your bank: account blocked, call +32 2 000 00 00", ""
    marie.save()
    web = login(client(rt), rt, marie)
    ids = _ids()
    cap = rt.config.limits.share_invitations_per_day
    answers = [post(web, "/sharing/add", {"email": f"person{n}@example.be", "customer": [str(ids["DL5000001"])]},
                    page="/sharing").status_code for n in range(cap + 3)]
    assert answers == [303] * cap + [429] * 3
    invitations = list(Outbox.select().where(Outbox.kind == "invitation"))
    assert len(invitations) == cap and User.select().where(User.email == "person20@example.be").count() == 0
    subjects = {message_from_bytes(bytes(o.raw), policy=policy.default)["Subject"] for o in invitations}
    assert not any("bank" in subject for subject in subjects)
    clock.advance(days=1)
    web = login(client(rt), rt, marie)
    assert post(web, "/sharing/add", {"email": "tomorrow@example.be", "customer": [str(ids["DL5000001"])]},
                page="/sharing").status_code == 303


def test_adding_needs_a_tick_and_a_valid_address(rt, marie):
    web = login(client(rt), rt, marie)
    none_ticked = post(web, "/sharing/add", {"email": "x@example.be"}, page="/sharing")
    assert none_ticked.status_code == 400 and "Cochez au moins un numéro de client." in none_ticked.text
    assert 'value="x@example.be"' in none_ticked.text  # what was typed is kept
    bad = post(web, "/sharing/add", {"email": "nope", "customer": [str(_ids()["DL2123456"])]}, page="/sharing")
    assert bad.status_code == 400 and "adresse e-mail valable" in bad.text
    own = post(web, "/sharing/add", {"email": marie.email, "customer": [str(_ids()["DL2123456"])]},
               page="/sharing")
    assert own.status_code == 400 and "votre propre adresse" in own.text
    assert User.select().count() == 2


def test_ticking_and_unticking_per_customer_number(rt, marie):
    web = login(client(rt), rt, marie)
    jan, ids = JAN_user(), _ids()
    post(web, f"/sharing/{jan.id}", {"customer": [str(ids["DL2123456"]), str(ids["DL5000001"])]}, page="/sharing")
    assert _sees(jan) == {"DL2123456", "DL5000001"}
    post(web, f"/sharing/{jan.id}", {"customer": [str(ids["DL5000001"])]}, page="/sharing")
    assert _sees(jan) == {"DL5000001"}
    post(web, f"/sharing/{jan.id}", {}, page="/sharing")
    assert _sees(jan) == set() and Share.select().count() == 1  # kept as a shared user, nothing ticked
    actions = [a.action for a in AuditLog.select().where(AuditLog.subject == jan.email)]
    assert actions.count("share.tick") == 1 and actions.count("share.untick") == 2


def test_a_new_customer_number_is_ticked_for_nobody(rt, marie):
    factories.customer(rt, "DL2000009", company="Third")
    assert "DL2000009" not in _sees(JAN_user())


def test_editing_a_not_yet_active_shared_user_and_removing_them(rt, marie):
    web = login(client(rt), rt, marie)
    jan = JAN_user()
    post(web, f"/sharing/{jan.id}", {"first_name": "Jan", "last_name": "Peters", "language": "en",
                                     "customer": [str(_ids()["DL2123456"])]}, page="/sharing")
    jan = JAN_user()
    assert (jan.last_name, jan.language) == ("Peters", "en")
    assert AuditLog.select().where(AuditLog.action == "share.edit").count() == 1
    removed = post(web, f"/sharing/{jan.id}/remove", page="/sharing")
    assert removed.status_code == 303 and _sees(jan) == set() and Share.select().count() == 0
    assert AuditLog.select().where(AuditLog.action == "share.remove").count() == 1


def test_an_active_shared_user_keeps_their_own_name(rt, marie, clock):
    jan = JAN_user()
    jan.activated_at = clock.now().replace(tzinfo=None)
    jan.save()
    web = login(client(rt), rt, marie)
    post(web, f"/sharing/{jan.id}", {"first_name": "X", "last_name": "Y", "language": "fr",
                                     "customer": [str(_ids()["DL2123456"])]}, page="/sharing")
    assert JAN_user().last_name == "Peeters"


def test_only_a_primary_contact_shares_and_only_their_own_people(rt, marie):
    jan_web = login(client(rt), rt, JAN_user())
    assert jan_web.get("/sharing").status_code == 403
    assert post(jan_web, "/sharing/add", {"email": "x@example.be", "customer": ["1"]}).status_code == 403
    other = factories.customer(rt, "DL2888888", Person("boss@other.example"), company="Other").primary_user
    other_web = login(client(rt), rt, other)
    jan = JAN_user()
    assert post(other_web, f"/sharing/{jan.id}/remove", page="/sharing").status_code == 404
    assert post(other_web, f"/sharing/{jan.id}", {"customer": [str(_ids()["DL2888888"])]},
                page="/sharing").status_code == 404
    assert _sees(jan) == {"DL2123456"}


def test_settings_change_name_language_and_frequencies(rt, marie):
    web = login(client(rt), rt, marie)
    answer = post(web, "/settings/profile", {"first_name": "Marie-Claire", "last_name": "Dupont",
                                             "language": "nl"})
    assert answer.status_code == 303
    assert "Uw gegevens zijn opgeslagen." in web.get("/settings").text
    assert User.get_by_id(marie.id).first_name == "Marie-Claire"
    ids = _ids()
    post(web, "/settings/frequency", {f"frequency_{ids['DL2123456']}": "weekly",
                                      f"frequency_{ids['DL5000001']}": "off"})
    prefs = {p.customer.number: p.frequency for p in Preference.select().where(Preference.user == marie)}
    assert prefs == {"DL2123456": "weekly", "DL5000001": "off"}
    audit = [json.loads(a.detail)["frequency"] for a in AuditLog.select().where(AuditLog.action == "preference.set")]
    assert sorted(audit) == ["off", "weekly"]


def test_a_new_frequency_applies_to_the_next_document(rt, marie):
    web = login(client(rt), rt, marie)
    post(web, "/settings/frequency", {f"frequency_{_ids()['DL2123456']}": "daily"})
    factories.document(rt)
    note = Notification.get(Notification.user == marie)
    assert (note.frequency, note.status) == ("daily", "pending")


def test_bad_settings_are_refused(rt, marie):
    web = login(client(rt), rt, marie)
    assert post(web, "/settings/profile", {"first_name": "x" * 101, "language": "fr"}).status_code == 400
    assert post(web, "/settings/profile", {"language": "xx"}).status_code == 400
    assert post(web, "/settings/frequency", {f"frequency_{_ids()['DL2123456']}": "hourly"}).status_code == 400
    assert {p.frequency for p in Preference.select()} == {"immediate"}


def test_settings_frequencies_only_for_visible_numbers(rt, marie):
    jan_web = login(client(rt), rt, JAN_user())
    page = jan_web.get("/settings")
    assert "DL2123456" in page.text and "DL5000001" not in page.text
    post(jan_web, "/settings/frequency", {f"frequency_{_ids()['DL5000001']}": "off"})
    assert Preference.select().where(Preference.user == JAN_user(), Preference.frequency == "off").count() == 0
