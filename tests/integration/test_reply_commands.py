"""End to end through SMTP: a reply to a real notification is read, acted on and answered through the relay."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailflow import tokens
from mailflow.models import InboundMessage, Outbox, Preference, Suppression, Token, User
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.inbound import (  # noqa: F401 (inbound_smtp and notice are fixtures)
    REPLY_DOMAIN, inbound_smtp, message, notice, outlook_reply_fr, postfix_dsn, send, settle,
)

MARIE = factories.MARIE.email


def reply(smtp_rt, inbound_smtp, notice: EmailMessage, command: str, sender: str = MARIE,
          **headers: str) -> InboundMessage:
    raw = outlook_reply_fr(sender, notice["Reply-To"], command, notice, **headers)
    answer = send(inbound_smtp, raw, sender, notice["Reply-To"])
    assert answer.code == 250
    settle(smtp_rt)
    return InboundMessage.select().order_by(InboundMessage.id.desc()).get()


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def test_french_outlook_duplicata_mails_the_pdf(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-0042")
    assert (row.status, row.kind) == ("processed", "command")
    assert row.reply_text.startswith("DUPLICATA F2026-0042") and "De :" not in row.reply_text
    assert '"duplicate"' in row.commands and "F2026-0042" in row.commands
    [got] = relay.to(MARIE)
    msg = got.message
    [pdf] = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "F2026-0042-duplicate.pdf" and pdf.get_content().startswith(b"%PDF")
    assert msg["Auto-Submitted"] == "auto-replied" and msg["In-Reply-To"] == row.message_id
    assert "DUPLICATA" in msg["Subject"]


def test_the_same_reply_from_a_spoofed_from_does_nothing(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-0042", sender="mallory@evil.example")
    assert row.status == "staff" and "does not match" in row.action
    assert relay.received == []
    assert not Outbox.select().where(Outbox.kind == "duplicate").exists()


def test_a_known_user_using_someone_elses_reply_address_is_not_acted_for(smtp_rt, relay, inbound_smtp, notice):
    factories.share(smtp_rt)
    row = reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-0042", sender=factories.JAN.email)
    assert row.status == "staff"
    [got] = relay.to(factories.JAN.email)  # told why, in Dutch, at the registered address
    assert "doorgestuurd naar onze klantendienst" in text_of(got.message)
    assert not any(p.get_content_type() == "application/pdf" for p in got.message.walk())


def test_resend_issues_a_new_invitation_and_old_links_stop_working(smtp_rt, relay, inbound_smtp, notice):
    before = list(Token.select().where(Token.purpose == "invitation"))
    row = reply(smtp_rt, inbound_smtp, notice, "RENVOYER")
    assert row.status == "processed" and "invitation" in row.action
    [got] = relay.to(MARIE)
    assert got.message["Auto-Submitted"] == "auto-replied"
    link = next(line for line in text_of(got.message).splitlines() if "/auth/" in line).strip()
    assert tokens.peek(link.rsplit("/", 1)[1], smtp_rt.now()).user.email == MARIE
    assert all(Token.get_by_id(t.id).revoked_at is not None for t in before)


def test_login_mails_a_magic_link(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice, "CONNEXION")
    assert row.status == "processed"
    [got] = relay.to(MARIE)
    assert "/auth/" in text_of(got.message) and got.message["In-Reply-To"] == row.message_id


def test_weekly_sets_the_frequency_for_the_token_customer_and_answers(smtp_rt, relay, inbound_smtp, notice):
    factories.customer(smtp_rt, "DL5000001", company="Garage Dupont Namur")
    row = reply(smtp_rt, inbound_smtp, notice, "weekly")
    marie = User.get(User.email == MARIE)
    freqs = {p.customer.number: p.frequency for p in Preference.select().where(Preference.user == marie)}
    assert freqs == {"DL2123456": "weekly", "DL5000001": "immediate"}
    assert row.status == "processed" and row.customer.number == "DL2123456"
    [got] = relay.to(MARIE)
    assert "une fois par semaine, pour le numéro client DL2123456" in text_of(got.message)
    assert got.message["Auto-Submitted"] == "auto-replied"


def test_stop_turns_notifications_off_and_says_how_to_turn_them_on(smtp_rt, relay, inbound_smtp, notice):
    reply(smtp_rt, inbound_smtp, notice, "Stop")
    marie = User.get(User.email == MARIE)
    assert Preference.get(Preference.user == marie).frequency == "off"
    text = text_of(relay.to(MARIE)[0].message)
    assert "ne recevrez plus de notifications" in text and "HEBDOMADAIRE" in text
    assert "https://portal.example.test/settings" in text


def test_help_lists_the_commands_in_the_users_language(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice, "aide")
    assert row.status == "processed"
    text = text_of(relay.to(MARIE)[0].message)
    for keyword in ("AIDE", "CONNEXION", "RENVOYER", "DUPLICATA", "HEBDOMADAIRE", "STOP"):
        assert keyword in text


def test_help_works_without_a_token_for_a_known_sender_only(smtp_rt, relay, inbound_smtp, notice):
    support = f"support@{REPLY_DOMAIN}"
    assert send(inbound_smtp, message(MARIE, support, "HULP", "HULP"), MARIE, support).code == 250
    assert send(inbound_smtp, message("nobody@example.org", support, "HELP", "HELP"), "nobody@example.org",
                support).code == 250
    settle(smtp_rt)
    assert len(relay.to(MARIE)) == 1 and relay.to("nobody@example.org") == []
    statuses = [r.status for r in InboundMessage.select().order_by(InboundMessage.id)]
    assert statuses == ["processed", "staff"]


def test_duplicate_of_an_unknown_document_says_why(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-9999")
    assert row.status == "processed" and "no such visible document" in row.action
    text = text_of(relay.to(MARIE)[0].message)
    assert "aucun document F2026-9999" in text


def test_duplicates_are_rate_limited_per_document(smtp_rt, relay, inbound_smtp, notice):
    limit = smtp_rt.config.limits.duplicates_per_document_per_day
    for _ in range(limit + 1):
        row = reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-0042")
    assert "rate-limited" in row.action
    assert Outbox.select().where(Outbox.kind == "duplicate").count() == limit
    assert "déjà demandé" in text_of(relay.received[-1].message)


def test_answers_per_address_per_day_are_capped(smtp_rt, relay, inbound_smtp, notice):
    smtp_rt.config.inbound.answers_per_day = 2
    for _ in range(4):
        row = reply(smtp_rt, inbound_smtp, notice, "AIDE")
    assert len(relay.to(MARIE)) == 2
    assert "daily answer limit" in row.action


def test_an_expired_reply_address_is_refused_with_the_reason(smtp_rt, relay, inbound_smtp, notice):
    smtp_rt.clock.advance(days=smtp_rt.config.security.reply_token_days + 2)
    row = reply(smtp_rt, inbound_smtp, notice, "HEBDOMADAIRE")
    assert row.status == "staff" and "expired" in row.action
    assert Preference.get().frequency == "immediate"
    assert "a expiré" in text_of(relay.to(MARIE)[0].message)


def test_an_out_of_office_reply_gets_no_answer(smtp_rt, relay, inbound_smtp, notice):
    raw = message(MARIE, notice["Reply-To"], "Réponse automatique : " + notice["Subject"],
                  "Je suis absente jusqu'au 15 novembre. AIDE", Auto_Submitted="auto-replied")
    assert send(inbound_smtp, raw, MARIE, notice["Reply-To"]).code == 250
    settle(smtp_rt)
    row = InboundMessage.get()
    assert (row.kind, row.status) == ("auto_reply", "ignored")
    assert relay.received == []


def test_a_message_that_is_not_a_command_goes_to_staff_with_one_acknowledgement(smtp_rt, relay, inbound_smtp,
                                                                                 notice):
    row = reply(smtp_rt, inbound_smtp, notice, "Bonjour, le montant me semble erroné, pouvez-vous vérifier ?")
    assert (row.kind, row.status) == ("message", "staff")
    assert row.reply_text.startswith("Bonjour, le montant me semble erroné")
    [ack] = relay.to(MARIE)
    assert "service clientèle" in text_of(ack.message) and ack.message["Auto-Submitted"] == "auto-replied"


def test_a_postfix_dsn_to_the_verp_address_marks_that_delivery_bounced(smtp_rt, relay, inbound_smtp):
    factories.customer(smtp_rt)
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    [got] = relay.to(MARIE)
    dsn = postfix_dsn(got.mail_from, MARIE, got.message["Message-ID"])
    assert send(inbound_smtp, dsn, "", got.mail_from).code == 250
    settle(smtp_rt)
    row = InboundMessage.get()
    notice_row = Outbox.get(Outbox.recipient == MARIE)
    assert (row.kind, row.status, row.outbox_id) == ("bounce", "processed", notice_row.id)
    assert notice_row.bounced_at is not None and "5.1.1" in notice_row.last_response
    assert Suppression.get(Suppression.email == MARIE).score == 1
    assert len(relay.received) == 1  # nobody answered the bounce


def test_a_thank_you_to_a_duplicate_does_not_ask_for_it_again(smtp_rt, relay, inbound_smtp, notice):
    reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-0042")
    duplicate = relay.to(MARIE)[0].message
    relay.received.clear()
    raw = message(MARIE, duplicate["Reply-To"], "RE: " + duplicate["Subject"], "Merci beaucoup !",
                  In_Reply_To=duplicate["Message-ID"])
    assert send(inbound_smtp, raw, MARIE, duplicate["Reply-To"]).code == 250
    settle(smtp_rt)
    row = InboundMessage.select().order_by(InboundMessage.id.desc()).get()
    assert (row.kind, row.status, row.commands) == ("message", "staff", "[]")
    assert Outbox.select().where(Outbox.kind == "duplicate").count() == 1


def test_the_list_unsubscribe_mailto_works_even_when_the_provider_sends_it_automatically(
        smtp_rt, relay, inbound_smtp, notice):
    mailto = notice["List-Unsubscribe"].split("<mailto:")[1].split("?")[0]
    raw = message(MARIE, mailto, "STOP", "This is an unsubscribe request.", Auto_Submitted="auto-generated")
    assert send(inbound_smtp, raw, MARIE, mailto).code == 250
    settle(smtp_rt)
    row = InboundMessage.get()
    assert row.status == "processed" and "unsubscribed" in row.action
    assert Preference.get(Preference.user == User.get(User.email == MARIE)).frequency == "off"
    assert relay.received == []  # one-click: nothing is answered


def test_the_unsubscribe_address_does_nothing_for_someone_else(smtp_rt, relay, inbound_smtp, notice):
    mailto = notice["List-Unsubscribe"].split("<mailto:")[1].split("?")[0]
    raw = message("mallory@evil.example", mailto, "STOP", "unsubscribe", Auto_Submitted="auto-generated")
    send(inbound_smtp, raw, "mallory@evil.example", mailto)
    settle(smtp_rt)
    assert Preference.get(Preference.user == User.get(User.email == MARIE)).frequency == "immediate"


@pytest.fixture
def two_issuers(smtp_rt, relay) -> dict[str, EmailMessage]:
    """Marie is primary of DL2123456 (Lease Services) and DL5765432 (Lease Belgium); both issued F2026-0042."""
    factories.customer(smtp_rt)
    factories.customer(smtp_rt, "DL5765432", company="Garage Dupont Belgium")
    factories.document(smtp_rt, "DL2123456", amount="111.00")
    factories.document(smtp_rt, "DL5765432", amount="555.00")
    DeliveryWorker(smtp_rt).flush()
    notices = {m.message["Subject"]: m.message for m in relay.to(MARIE)}
    relay.received.clear()
    return {("DL5" if "Lease Belgium" in str(m["From"]) + text_of(m) else "DL2"): m for m in notices.values()}


def duplicate_pdf_customer(relay) -> str:
    """Which customer's document a duplicate carried, read from its PDF's amount."""
    [got] = [r for r in relay.to(MARIE) if any(p.get_content_type() == "application/pdf" for p in r.message.walk())]
    return "DL5" if "555" in text_of(got.message) else "DL2"


def test_a_duplicate_asked_in_reply_to_one_issuers_notice_is_that_issuers_document(
        smtp_rt, relay, inbound_smtp, two_issuers):
    assert set(two_issuers) == {"DL2", "DL5"}
    row = reply(smtp_rt, inbound_smtp, two_issuers["DL5"], "DUPLICATA F2026-0042")
    assert row.status == "processed" and "DL5765432" in row.action
    assert duplicate_pdf_customer(relay) == "DL5"
    relay.received.clear()
    reply(smtp_rt, inbound_smtp, two_issuers["DL2"], "DUPLICATA F2026-0042")
    assert duplicate_pdf_customer(relay) == "DL2"


def test_a_reply_naming_no_customer_number_is_asked_which_and_nothing_is_sent(smtp_rt, relay, inbound_smtp,
                                                                              two_issuers):
    notice = two_issuers["DL2"]
    marie = User.get(User.email == MARIE)
    address = f"reply+{smtp_rt.reply_token(marie.id, None, 'answer')}@{REPLY_DOMAIN}"  # names no number
    raw = outlook_reply_fr(MARIE, notice["Reply-To"], "DUPLICATA F2026-0042", notice)
    raw = raw.replace(notice["Reply-To"].encode(), address.encode())
    assert send(inbound_smtp, raw, MARIE, address).code == 250
    settle(smtp_rt)
    row = InboundMessage.select().order_by(InboundMessage.id.desc()).get()
    assert "asked which" in row.action
    assert not Outbox.select().where(Outbox.kind == "duplicate").exists()
    [got] = relay.to(MARIE)
    assert "DL2123456" in text_of(got.message) and "DL5765432" in text_of(got.message)


def test_the_customer_number_written_after_the_document_number_decides(smtp_rt, relay, inbound_smtp, two_issuers):
    row = reply(smtp_rt, inbound_smtp, two_issuers["DL2"], "DUPLICATA F2026-0042 DL5765432")
    assert row.status == "processed" and "DL5765432" in row.action
    assert duplicate_pdf_customer(relay) == "DL5"


def test_forged_mail_cannot_spend_the_answers_of_genuine_replies(smtp_rt, relay, inbound_smtp, notice):
    """Anyone can write From: Marie; only Marie's mail reaches her reply address's signed token."""
    for n in range(smtp_rt.config.inbound.answers_per_day + 5):
        forged = message(MARIE, f"reply@{REPLY_DOMAIN}", f"Question {n}", "AIDE\nCONNEXION")
        assert send(inbound_smtp, forged, "mallory@evil.example", f"reply@{REPLY_DOMAIN}").code == 250
    settle(smtp_rt)
    unsigned = len(relay.to(MARIE))
    assert unsigned <= 2 * smtp_rt.config.inbound.unsigned_answers_per_day
    duplicate = reply(smtp_rt, inbound_smtp, notice, "DUPLICATA F2026-0042")
    login = reply(smtp_rt, inbound_smtp, notice, "CONNEXION")
    assert "duplicate F2026-0042 (DL2123456) mailed" in duplicate.action
    assert "login link mailed" in login.action
    assert Outbox.select().where(Outbox.kind == "duplicate").count() == 1


def test_a_polite_french_sentence_asking_for_a_copy_gets_the_pdf(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice,
                "Bonjour,\n\nPourriez-vous me renvoyer la facture F2026-0042 svp ?\n\nMerci d'avance")
    assert (row.status, row.kind) == ("processed", "command") and "duplicate F2026-0042" in row.action
    [got] = relay.to(MARIE)
    assert any(p.get_content_type() == "application/pdf" for p in got.message.walk())


@pytest.mark.parametrize("sentence", [
    "Kunt u mij factuur F2026/0042 nog eens sturen aub?",
    "Könnten Sie mir die Rechnung F2026 0042 bitte erneut zusenden?",
    "Could you please send me a copy of this invoice?",  # the number is that of the mail answered (In-Reply-To)
])
def test_the_same_request_in_dutch_german_and_english(smtp_rt, relay, inbound_smtp, notice, sentence):
    row = reply(smtp_rt, inbound_smtp, notice, sentence, In_Reply_To=notice["Message-ID"])
    assert row.status == "processed" and "duplicate F2026-0042 (DL2123456) mailed" in row.action


def test_a_weekly_summary_is_enough_sets_weekly(smtp_rt, relay, inbound_smtp, notice):
    row = reply(smtp_rt, inbound_smtp, notice, "Bonjour, un récapitulatif hebdomadaire me suffit. Merci")
    assert row.status == "processed"
    assert Preference.get(Preference.user == User.get(User.email == MARIE)).frequency == "weekly"


@pytest.mark.parametrize("sentence", [
    "Pourquoi la facture F2026-0042 est-elle si élevée ce mois-ci ?",
    "J'ai déjà payé la facture F2026-0042 le 28 octobre.",
    "Ne m'envoyez plus de copie, merci.",
    "Je ne souhaite pas me désinscrire, je voulais juste vérifier.",
    "Merci pour le duplicata !",
    "Je passerai à votre agence demain pour signer le contrat.",
])
def test_questions_negations_and_remarks_go_to_staff_with_nothing_done(smtp_rt, relay, inbound_smtp, notice,
                                                                       sentence):
    row = reply(smtp_rt, inbound_smtp, notice, sentence)
    assert (row.status, row.kind, row.commands) == ("staff", "message", "[]")
    assert not Outbox.select().where(Outbox.kind == "duplicate").exists()
    assert Preference.get(Preference.user == User.get(User.email == MARIE)).frequency == "immediate"
    [ack] = relay.to(MARIE)
    assert "service clientèle" in text_of(ack.message)


def test_a_request_beside_a_complaint_is_carried_out_and_the_message_goes_to_staff(smtp_rt, relay, inbound_smtp,
                                                                                   notice):
    row = reply(smtp_rt, inbound_smtp, notice,
                "Pourriez-vous me renvoyer la facture F2026-0042 ? Le montant me semble d'ailleurs erroné.")
    assert row.status == "staff" and "duplicate F2026-0042 (DL2123456) mailed" in row.action
    assert "asks or complains" in row.action
