"""Publishing a document through to a real SMTP relay: languages, parts, headers, amounts."""

from __future__ import annotations

from email.message import EmailMessage

from mailflow import tokens
from mailflow.models import Notification, Outbox, Token
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.signing import token_from_address
from tests.support import factories


def _parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if part.get_content_type() in ("text/plain", "text/html")}


def _publish_for_marie_and_jan(rt) -> None:
    factories.customer(rt)
    factories.share(rt)
    factories.document(rt)


def test_both_recipients_get_their_language_parts_and_headers(smtp_rt, relay):
    _publish_for_marie_and_jan(smtp_rt)
    report = DeliveryWorker(smtp_rt).flush()
    assert report.sent == 2 and len(relay.received) == 2
    marie, jan = relay.to("marie.dupont@example.be")[0], relay.to("compta@fiduciaire.example")[0]
    assert "activez votre compte" in marie.message["Subject"]
    assert "Uw documenten" in jan.message["Subject"]
    marie_parts, jan_parts = _parts(marie.message), _parts(jan.message)
    assert set(marie_parts) == {"text/plain", "text/html"} and set(jan_parts) == {"text/plain", "text/html"}
    assert "1\u202f234,56\xa0€" in marie_parts["text/plain"] and "1\u202f234,56\xa0€" in marie_parts["text/html"]
    assert "€\xa01.234,56" in jan_parts["text/plain"]
    assert "Bonjour Marie" in marie_parts["text/plain"] and "Beste Jan" in jan_parts["text/plain"]


def test_headers_parse_back(smtp_rt, relay):
    _publish_for_marie_and_jan(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    got = relay.to("marie.dupont@example.be")[0]
    msg = got.message
    claim = smtp_rt.signer.read_reply_token(token_from_address(msg["Reply-To"], "reply"), smtp_rt.now().date())
    marie_row = Outbox.get(Outbox.recipient == "marie.dupont@example.be")
    assert (claim.user_id, claim.customer_id, claim.purpose) == (marie_row.user_id, marie_row.customer_id, "notice")
    assert smtp_rt.signer.read_verp_token(token_from_address(got.mail_from, "bounces")) == marie_row.id
    assert got.mail_from.endswith("@reply.mailflow.example")
    assert msg["Message-ID"] == marie_row.message_id and msg["Message-ID"].endswith("@mailflow.example>")  # From's
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Content-Language"] == "fr"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<https://portal.example.test/unsubscribe/" in msg["List-Unsubscribe"]
    assert "<mailto:reply+" in msg["List-Unsubscribe"]
    assert msg["Date"]


def test_unactivated_contact_gets_a_working_invitation_link_stored_only_hashed(smtp_rt, relay):
    _publish_for_marie_and_jan(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    text = _parts(relay.to("marie.dupont@example.be")[0].message)["text/plain"]
    link = next(line for line in text.splitlines() if "/auth/" in line).strip()
    raw = link.rsplit("/", 1)[1]
    assert link.startswith("https://portal.example.test/auth/")
    assert not Token.select().where(Token.token_hash == raw).exists()
    assert tokens.peek(raw, smtp_rt.now()).user.email == "marie.dupont@example.be"


def test_activated_contact_gets_the_plain_notice(smtp_rt, relay):
    marie = factories.customer(smtp_rt).primary_user
    marie.activated_at = smtp_rt.now().replace(tzinfo=None)
    marie.save()
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    msg = relay.to("marie.dupont@example.be")[0].message
    assert "F2026-0042" in msg["Subject"] and "/auth/" not in _parts(msg)["text/plain"]


def test_shared_user_not_ticked_for_a_number_gets_nothing_for_it(smtp_rt, relay):
    factories.customer(smtp_rt, "DL2123456")
    factories.customer(smtp_rt, "DL5000001", company="Garage Dupont Namur")
    factories.share(smtp_rt, "DL2123456")
    factories.document(smtp_rt, "DL5000001", "F2026-9001")
    DeliveryWorker(smtp_rt).flush()
    assert [r.rcpt_tos for r in relay.received] == [["marie.dupont@example.be"]]
    assert not Notification.select().where(Notification.user == factories.JAN_user()).exists()


def test_one_smtp_connection_carries_a_whole_batch(smtp_rt, relay):
    factories.customer(smtp_rt)
    factories.share(smtp_rt)
    for n in range(5):
        factories.document(smtp_rt, number=f"F2026-01{n:02d}")
    sessions: set[int] = set()
    original = relay.handler.handle_DATA

    async def spy(server, session, envelope):
        sessions.add(id(session))
        return await original(server, session, envelope)

    relay.handler.handle_DATA = spy
    assert DeliveryWorker(smtp_rt).flush().sent == 10
    assert len(sessions) == 1
