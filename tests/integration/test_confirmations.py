"""End to end through SMTP: an unsure request is asked back, and only a YES from the same person, in reply to
that very question and within its week, carries it out."""

from __future__ import annotations

import importlib.util
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailflow.inbound.confirmations import CONFIRM_DAYS
from mailflow.migrations import MIGRATIONS_DIR
from mailflow.models import Confirmation, InboundMessage, Outbox, Preference, User
from mailflow.signing import today_utc, token_from_address
from tests.support import factories
from tests.support.inbound import (  # noqa: F401 (inbound_smtp and notice are fixtures)
    inbound_smtp, message, notice, outlook_reply_fr, send, settle,
)

MARIE = factories.MARIE.email
UNSURE = "F2026-0042 svp"  # a number and a please: probably a duplicate, not surely


def answer(smtp_rt, inbound_smtp, mail: EmailMessage, text: str, sender: str = MARIE) -> InboundMessage:
    """`sender` replies to `mail` (its Reply-To, threaded under it) as French Outlook writes a reply."""
    raw = outlook_reply_fr(sender, mail["Reply-To"], text, mail, In_Reply_To=mail["Message-ID"])
    assert send(inbound_smtp, raw, sender, mail["Reply-To"]).code == 250
    settle(smtp_rt)
    return InboundMessage.select().order_by(InboundMessage.id.desc()).get()


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def duplicates() -> int:
    return Outbox.select().where(Outbox.kind == "duplicate").count()


@pytest.fixture
def question(smtp_rt, relay, inbound_smtp, notice) -> EmailMessage:
    """Marie wrote only a number and a please; mailflow asked her what she meant."""
    row = answer(smtp_rt, inbound_smtp, notice, UNSURE)
    assert row.status == "processed" and "asked to confirm DUPLICATE F2026-0042" in row.action
    [got] = relay.to(MARIE)
    relay.received.clear()
    return got.message


def test_an_unsure_request_is_asked_in_the_persons_language_and_nothing_is_done(smtp_rt, question):
    text = text_of(question)
    assert "Vouliez-vous dire\u00a0: DUPLICATA F2026-0042\u00a0?" in text and "OUI" in text
    assert question["Auto-Submitted"] == "auto-replied"
    token = token_from_address(question["Reply-To"], "reply")
    assert smtp_rt.signer.read_reply_token(token, today_utc(smtp_rt.now())).purpose == "confirm"
    [pending] = Confirmation.select()
    assert pending.status == "pending" and json.loads(pending.commands) == [
        {"name": "duplicate", "args": ["F2026-0042"], "customer": None}]
    assert pending.question == question["Message-ID"] and pending.customer.number == "DL2123456"
    assert duplicates() == 0


def test_yes_to_the_question_carries_the_request_out(smtp_rt, relay, inbound_smtp, question):
    row = answer(smtp_rt, inbound_smtp, question, "Oui, merci")
    assert row.status == "processed" and "confirmed" in row.action and "duplicate F2026-0042" in row.action
    [got] = relay.to(MARIE)
    assert any(p.get_content_type() == "application/pdf" for p in got.message.walk())
    assert Confirmation.get().status == "confirmed" and Confirmation.get().answer_id == row.id


@pytest.mark.parametrize("yes", ["YES", "ja", "Ja, bitte", "OUI"])
def test_yes_in_any_language(smtp_rt, inbound_smtp, question, yes):
    answer(smtp_rt, inbound_smtp, question, yes)
    assert duplicates() == 1


def test_a_second_yes_does_not_do_it_twice(smtp_rt, inbound_smtp, question):
    answer(smtp_rt, inbound_smtp, question, "OUI")
    row = answer(smtp_rt, inbound_smtp, question, "OUI")
    assert duplicates() == 1 and "no longer open" in row.action


def test_no_closes_the_question_and_does_nothing(smtp_rt, relay, inbound_smtp, question):
    row = answer(smtp_rt, inbound_smtp, question, "Non merci")
    assert "declined" in row.action and Confirmation.get().status == "declined"
    assert duplicates() == 0
    assert "nous n'avons rien fait" in text_of(relay.to(MARIE)[0].message)


def test_yes_from_another_address_does_nothing(smtp_rt, relay, inbound_smtp, question):
    factories.share(smtp_rt)
    row = answer(smtp_rt, inbound_smtp, question, "OUI", sender=factories.JAN.email)
    assert row.status == "staff" and duplicates() == 0
    assert Confirmation.get().status == "pending"
    forged = answer(smtp_rt, inbound_smtp, question, "OUI", sender="mallory@evil.example")
    assert forged.status == "staff" and duplicates() == 0


def test_yes_after_the_week_does_nothing_and_says_so(smtp_rt, relay, inbound_smtp, question):
    smtp_rt.clock.advance(days=CONFIRM_DAYS, hours=1)
    row = answer(smtp_rt, inbound_smtp, question, "OUI")
    assert row.status == "staff" and "expired" in row.action
    assert duplicates() == 0 and Confirmation.get().status == "expired"
    assert "expiration" in text_of(relay.to(MARIE)[0].message)


def test_yes_to_a_notice_is_no_confirmation(smtp_rt, inbound_smtp, notice, question):
    row = answer(smtp_rt, inbound_smtp, notice, "OUI")
    assert row.status == "staff" and duplicates() == 0 and Confirmation.get().status == "pending"


def test_a_newer_question_replaces_the_older_one(smtp_rt, relay, inbound_smtp, notice, question):
    answer(smtp_rt, inbound_smtp, notice, "Hebdomadaire ?")  # a keyword, but asked as a question
    newer = relay.to(MARIE)[-1].message
    statuses = [c.status for c in Confirmation.select().order_by(Confirmation.id)]
    assert statuses == ["superseded", "pending"] and "HEBDOMADAIRE" in text_of(newer)
    stale = answer(smtp_rt, inbound_smtp, question, "OUI")
    assert "no longer open" in stale.action and duplicates() == 0
    answer(smtp_rt, inbound_smtp, newer, "OUI")
    assert Preference.get(Preference.user == User.get(User.email == MARIE)).frequency == "weekly"


def test_a_clear_request_beside_an_unsure_one_is_carried_out_and_the_other_asked(smtp_rt, relay, inbound_smtp,
                                                                                 notice):
    factories.document(smtp_rt, number="F2026-0043")
    row = answer(smtp_rt, inbound_smtp, notice, "Pourriez-vous me renvoyer la facture F2026-0043 ?\nF2026-0042 svp")
    assert "duplicate F2026-0043 (DL2123456) mailed" in row.action
    assert "asked to confirm DUPLICATE F2026-0042" in row.action
    assert duplicates() == 1 and Confirmation.get().status == "pending"


def test_migration_5_is_safe_on_a_database_that_already_has_the_table(rt):
    spec = importlib.util.spec_from_file_location("m0005", next(Path(MIGRATIONS_DIR).glob("0005_*.py")))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.migrate(rt.db)  # the table 0001 made from today's models: nothing to do, nothing lost
    rt.db.drop_tables([Confirmation])
    module.migrate(rt.db)
    module.migrate(rt.db)
    assert rt.db.table_exists(Confirmation._meta.table_name)
    assert {"confirmation_user_id_status", "confirmation_status_expires_at"} <= {
        index.name for index in rt.db.get_indexes(Confirmation._meta.table_name)}


def test_inspect_shows_the_question_a_message_would_ask(smtp_rt, notice):
    from mailflow.inbound.understanding import as_json, understand

    raw = outlook_reply_fr(MARIE, notice["Reply-To"], UNSURE, notice)
    seen = as_json(understand(smtp_rt, raw, MARIE, [notice["Reply-To"]]))
    assert seen["commands"] == [{"name": "duplicate", "args": ["F2026-0042"]}]
    [read] = seen["requests"]
    assert read["decision"] == "ask" and read["confidence"] < 0.8 and read["rule"] == "duplicate.number-please"
    assert [w["text"] for w in read["words"]] == ["F2026-0042", "svp"]
    assert seen["confirmation"] == {"would_ask": [{"name": "duplicate", "args": ["F2026-0042"]}], "open_days": 7}


def test_inspect_shows_the_open_question_a_yes_answers(smtp_rt, relay, inbound_smtp, question):
    from mailflow.inbound.understanding import as_json, understand

    raw = message(MARIE, question["Reply-To"], "RE: " + question["Subject"], "Oui", In_Reply_To=question["Message-ID"])
    seen = as_json(understand(smtp_rt, raw, MARIE, [question["Reply-To"]]))
    assert seen["commands"] == [] and seen["confirmation"]["answer"] == "yes"
    assert seen["confirmation"]["question"]["status"] == "pending"
    assert seen["confirmation"]["question"]["commands"][0]["args"] == ["F2026-0042"]


@pytest.fixture
def staff_web(smtp_rt):
    from mailflow.accounts import Person, add_staff
    from tests.support.web import client, login

    return login(client(smtp_rt), smtp_rt, add_staff(smtp_rt, Person("sam@support.example", "Sam", "Support", "en")))


def test_the_console_shows_which_words_were_read_as_which_request(smtp_rt, inbound_smtp, notice, staff_web):
    row = answer(smtp_rt, inbound_smtp, notice,
                 "Pourriez-vous me renvoyer la facture F2026-0042 ?\nPourquoi est-elle si élevée ?")
    page = staff_web.get(f"/staff/inbound/{row.id}").text
    assert "What was read" in page and "duplicate.ask-to-send" in page and "95 %" in page
    assert "<mark>Pourriez-vous</mark>" in page and "<mark>me renvoyer</mark>" in page
    assert "<mark>F2026-0042</mark>" in page and "clear: carried out" in page
    assert "Not taken for a request" in page and "why-question" in page
    assert "duplicate F2026-0042" in staff_web.get("/staff/inbound").text


def test_the_console_lists_the_open_questions(smtp_rt, inbound_smtp, question, staff_web):
    [pending] = Confirmation.select()
    overview = staff_web.get("/staff").text
    assert "Questions awaiting a yes" in overview and '<a href="/staff/confirmations">1</a>' in overview
    listing = staff_web.get("/staff/confirmations").text
    assert "duplicate F2026-0042" in listing and "status-pending" in listing and MARIE in listing
    detail = staff_web.get(f"/staff/inbound/{pending.inbound_id}").text
    assert "unsure: asked back" in detail and f"#{pending.id}" in detail
    answer(smtp_rt, inbound_smtp, question, "OUI")
    assert "status-pending" not in staff_web.get("/staff/confirmations").text
    assert "status-confirmed" in staff_web.get("/staff/confirmations?show=all").text


def test_the_questions_page_is_for_staff_only(smtp_rt, notice):
    from tests.support.web import client, login

    assert client(smtp_rt).get("/staff/confirmations").status_code == 303
    marie = login(client(smtp_rt), smtp_rt, User.get(User.email == MARIE))
    assert marie.get("/staff/confirmations").status_code == 403
