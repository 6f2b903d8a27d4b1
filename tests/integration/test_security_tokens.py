"""Guessing and forging: link tokens, activation codes, login requests and reply tokens, through real
requests and real mail (the inbound SMTP server, the outbox, a real relay)."""

from __future__ import annotations

import base64
import re
import string
import struct

import pytest

from mailflow import activation, login_requests
from mailflow.models import Customer, DuplicateRequest, InboundMessage, Outbox, Preference, Session, Token, User
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.scheduler import retention
from mailflow.signing import Signer
from mailflow.tokens import digest
from mailflow.web.app import create_app
from tests.support import factories
from tests.support.inbound import inbound_smtp, message, send, settle  # noqa: F401 (inbound_smtp is a fixture)
from tests.support.security import PAUL, parsed, snapshot, text_part, web_client
from tests.support.web import csrf, csrf_of, link_token, login

MALLORY = "mallory@evil.example"


@pytest.fixture
def app(rt):
    return create_app(rt)


# --- magic-link and invitation tokens -------------------------------------------------------------------------


def mailed_link(rt, app, email: str) -> str:
    web = web_client(app)
    assert web.post("/login", data={"csrf_token": csrf(web), "email": email}).status_code == 200
    login_requests.drain(rt)  # the worker's part
    raw = bytes(Outbox.select().where(Outbox.kind == "login").order_by(Outbox.id.desc()).get().raw)
    return re.search(r"/auth/(\S+)", text_part(parsed(raw))).group(1)


def test_link_tokens_are_256_bit_random_and_only_their_hash_outlives_the_mail(rt, app, clock):
    factories.customer(rt)
    first, second = mailed_link(rt, app, factories.MARIE.email), mailed_link(rt, app, factories.MARIE.email)
    for raw in (first, second):
        assert len(raw) == 43 and set(raw) <= set(string.ascii_letters + string.digits + "-_")  # 32 bytes
        assert Token.select().where(Token.token_hash == digest(raw)).count() == 1
    assert first != second
    DeliveryWorker(rt).flush()
    clock.advance(days=1, minutes=1)
    retention.run_all(rt)
    # the mails that carried the links are emptied once delivered: a copy of the database holds no live link
    assert not any(raw in repr(snapshot()) for raw in (first, second))
    assert Outbox.select().where(Outbox.status == "sent").count() == 2


def test_guessing_a_link_gets_nothing_and_locks_nobody_out(rt, app):
    """Not rate-limited: 2^256 values cannot be searched, and a lockout would let anyone block a real link."""
    marie = factories.customer(rt).primary_user
    raw = link_token(rt, marie)
    web = web_client(app)
    token = csrf(web)
    near = [raw[:-1] + ("A" if raw[-1] != "A" else "B"), raw[:-1], raw + "A", raw.upper(), raw.lower(),
            raw[1:] + raw[0], digest(raw), " " + raw]
    guesses = near + [base64.urlsafe_b64encode(bytes([n]) * 32).decode().rstrip("=") for n in range(92)]
    before = snapshot()
    for guess in guesses:
        assert web.post(f"/auth/{guess}", data={"csrf_token": token}).status_code in (404, 410), guess
    assert snapshot() == before and Session.select().count() == 0
    page = web.get(f"/auth/{raw}")  # the real link still works after a hundred wrong ones from the same place
    assert web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(page.text)}).status_code == 303


# --- activation codes and login requests ---------------------------------------------------------------------


def well_formed_unknown() -> str:
    body = "ABCDEFGHJKM"
    return activation.formatted(body + activation.check_symbol(body))


def test_activation_code_guessing_is_limited_per_user_and_the_right_code_waits(rt, app, clock):
    rt.config.limits.activation_attempts_per_hour = 4
    x = factories.customer(rt)
    factories.customer(rt, "DL5000001", PAUL, company="Clinique Renard")
    code = activation.issue(rt, x)
    marie, paul = web_client(app), web_client(app, "203.0.113.20")
    login(marie, rt, x.primary_user)
    login(paul, rt, User.get(User.email == PAUL.email))
    for guess in ("AAAA-BBBB-CCCC", well_formed_unknown(), "7KQ4-M2ZD-9HXA", well_formed_unknown()):
        assert marie.post("/activation", data={"csrf_token": csrf(marie, "/activation"), "code": guess}
                          ).status_code == 400
    blocked = marie.post("/activation", data={"csrf_token": csrf(marie, "/activation"), "code": code})
    assert blocked.status_code == 429
    assert not Customer.get_by_id(x.id).paperless and activation.latest(x).used_at is None
    other = paul.post("/activation", data={"csrf_token": csrf(paul, "/activation"), "code": well_formed_unknown()})
    assert other.status_code == 400  # one person's lockout is theirs alone
    clock.advance(hours=1)
    assert marie.post("/activation", data={"csrf_token": csrf(marie, "/activation"), "code": code}
                      ).status_code == 303
    assert Customer.get_by_id(x.id).paperless


def ask(app, ip: str, email: str, **headers: str):
    web = web_client(app, ip)
    return web.post("/login", data={"csrf_token": csrf(web), "email": email}, headers=headers)


def test_mailed_links_point_at_the_configured_site_whatever_host_the_request_names(rt, app):
    factories.customer(rt)
    web = web_client(app)
    forwarded = {"host": "evil.example", "x-forwarded-host": "evil.example", "forwarded": "host=evil.example"}
    web.post("/login", data={"csrf_token": csrf(web), "email": factories.MARIE.email}, headers=forwarded)
    login_requests.drain(rt)
    text = text_part(parsed(bytes(Outbox.get(Outbox.kind == "login").raw)))
    assert "evil.example" not in text and re.search(r"https://portal\.example\.test/auth/\S{43}", text)


def test_login_links_are_limited_per_address_whatever_the_network(rt, app):
    factories.customer(rt)
    limit = rt.config.limits.login_links_per_address_per_hour
    known = [ask(app, f"203.0.113.{n}", factories.MARIE.email) for n in range(limit + 3)]
    unknown = ask(app, "203.0.113.99", "nobody@example.be")
    assert {a.status_code for a in known} == {200} and {a.text for a in known} == {unknown.text}
    login_requests.drain(rt)
    assert Outbox.select().where(Outbox.kind == "login").count() == limit


def test_login_requests_are_limited_per_client_ip_which_headers_cannot_change(rt, app):
    factories.customer(rt)
    rt.config.limits.login_requests_per_ip_per_hour = 4
    answers = [ask(app, "198.51.100.50", f"visitor{n}@example.be").status_code for n in range(4)]
    assert answers == [200] * 4
    for email in ("visitor9@example.be", factories.MARIE.email):  # known or not, the same refusal
        refused = ask(app, "198.51.100.50", email, **{"x-forwarded-for": "192.0.2.1", "x-real-ip": "192.0.2.1"})
        assert refused.status_code == 429
    login_requests.drain(rt)
    assert Outbox.select().where(Outbox.kind == "login").count() == 0
    assert ask(app, "198.51.100.51", factories.MARIE.email).status_code == 200


# --- reply tokens: forgery, other users, other customer numbers, purposes, replays -----------------------------


@pytest.fixture
def notices(smtp_rt, relay) -> dict[tuple[str, str], str]:
    """Marie: primary of X (DL2123456) and X2; Jan: shared on X; Paul: primary of Y. Reply-To of each notice."""
    factories.customer(smtp_rt)
    factories.customer(smtp_rt, "DL2654321", company="Garage Dupont Liège")
    factories.share(smtp_rt)
    factories.customer(smtp_rt, "DL5000001", PAUL, company="Clinique Renard")
    factories.document(smtp_rt)
    factories.document(smtp_rt, "DL2654321", "F2026-0043")
    factories.document(smtp_rt, "DL5000001", "F2026-0100")
    DeliveryWorker(smtp_rt).flush()
    found = {}
    for got in relay.received:
        number = re.search(r"F2026-\d+", text_part(got.message)).group(0)
        found[(got.rcpt_tos[0], number)] = got.message["Reply-To"].addresses[0].addr_spec
    relay.received.clear()
    return found


def reply_as(server, sender: str, to: str, body: str, envelope_from: str | None = None, **headers: str) -> None:
    raw = message(sender, to, "Re: document", body, **headers)
    assert send(server, raw, envelope_from or sender, to).code == 250


def frequencies() -> dict[tuple[str, str], str]:
    return {(p.user.email, p.customer.number): p.frequency for p in Preference.select()}


def local_token(address: str) -> str:
    return address.split("@")[0].split("+", 1)[1]


def reclaimed(token: str, customer_id: int) -> str:
    """The same MAC on a body that names another customer number: what a forger would try."""
    raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    user_id, _, purpose, days = struct.unpack(">IIBH", raw[:11])
    forged = struct.pack(">IIBH", user_id, customer_id, purpose, days) + raw[11:]
    return base64.b32encode(forged).decode().rstrip("=").lower()


def test_forged_reply_tokens_are_refused_and_many_of_them_do_nothing(smtp_rt, relay, inbound_smtp, notices):
    smtp_rt.config.inbound.unsigned_answers_per_day = 2  # forged tokens sign nothing: the unsigned budget
    marie = factories.MARIE.email
    real = local_token(notices[(marie, "F2026-0042")])
    user_id = User.get(User.email == marie).id
    x2 = Customer.get(Customer.number == "DL2654321").id
    verp = Outbox.get(Outbox.recipient == marie, Outbox.kind == "notice")
    forged = [real[:-1] + ("a" if real[-1] != "a" else "b"), real[:20], real + "aa", reclaimed(real, x2),
              Signer(b"another secret").reply_token(user_id, x2, "notice", smtp_rt.now().date()),
              smtp_rt.signer.verp_token(verp.id), base64.b32encode(b"\0" * 21).decode().rstrip("=").lower(),
              "../../etc/passwd"]
    before, duplicates = frequencies(), DuplicateRequest.select().count()
    for token in forged + forged:
        reply_as(inbound_smtp, marie, f"reply+{token}@reply.mailflow.example", "STOP\nDUPLICATA F2026-0042")
    settle(smtp_rt)
    rows = list(InboundMessage.select())
    assert len(rows) == 2 * len(forged) and {r.status for r in rows} == {"staff"}
    assert all("reply token invalid" in r.action for r in rows)
    assert frequencies() == before and DuplicateRequest.select().count() == duplicates
    assert len(relay.received) == 2 and relay.to(marie) == relay.received  # the daily answer cap, to her only
    assert not any(p.get_content_type() == "application/pdf" for r in relay.received for p in r.message.walk())


def test_a_token_of_one_user_does_nothing_for_anyone_when_sent_from_another_address(
        smtp_rt, relay, inbound_smtp, notices):
    marie, jan = factories.MARIE.email, factories.JAN.email
    before = frequencies()
    # Jan, from his own address, with Marie's reply address: a number only Marie sees, and a frequency
    reply_as(inbound_smtp, jan, notices[(marie, "F2026-0042")], "DUPLICAAT F2026-0043\nWEKELIJKS")
    # someone writing as Marie with Jan's reply address
    reply_as(inbound_smtp, marie, notices[(jan, "F2026-0042")], "STOP", envelope_from=MALLORY)
    # a stranger with Marie's reply address
    reply_as(inbound_smtp, MALLORY, notices[(marie, "F2026-0042")], "STOP\nDUPLICATA F2026-0042")
    settle(smtp_rt)
    assert frequencies() == before and DuplicateRequest.select().count() == 0
    for row in InboundMessage.select():
        assert row.status == "staff" and ("of another user" in row.action or "does not match" in row.action)
    assert relay.to(MALLORY) == []  # a stranger is never answered
    [to_jan] = relay.to(jan)
    assert "F2026-0043" not in text_part(to_jan.message) and marie not in to_jan.raw.decode()
    assert all(len(r.rcpt_tos) == 1 for r in relay.received)


def test_a_forged_sender_with_the_real_reply_address_only_ever_reaches_the_registered_address(
        smtp_rt, relay, inbound_smtp, notices):
    """The known limit: no SPF/DKIM check. Whoever has Marie's reply address and writes as her is obeyed, but
    every effect goes to Marie's registered address, never to the forger."""
    marie = factories.MARIE.email
    reply_as(inbound_smtp, marie, notices[(marie, "F2026-0042")], "DUPLICATA F2026-0042\nCONNEXION",
             envelope_from=MALLORY, Reply_To=MALLORY, Cc=MALLORY)
    settle(smtp_rt)
    assert relay.to(MALLORY) == [] and len(relay.to(marie)) == 2
    assert all(r.rcpt_tos == [marie] and MALLORY not in r.raw.decode() for r in relay.received)


def test_a_token_for_one_customer_number_does_not_act_on_another(smtp_rt, relay, inbound_smtp, notices):
    marie, jan = factories.MARIE.email, factories.JAN.email
    reply_as(inbound_smtp, jan, notices[(jan, "F2026-0042")], "DUPLICAAT F2026-0043")  # X2: not ticked for Jan
    reply_as(inbound_smtp, marie, notices[(marie, "F2026-0042")], "DUPLICATA F2026-0100")  # Paul's number Y
    reply_as(inbound_smtp, marie, notices[(marie, "F2026-0042")], "HEBDOMADAIRE")  # X only
    settle(smtp_rt)
    assert DuplicateRequest.select().count() == 0
    actions = [r.action for r in InboundMessage.select().order_by(InboundMessage.id)]
    assert "no such visible document" in actions[0] and "no such visible document" in actions[1]
    assert frequencies()[(marie, "DL2123456")] == "weekly"
    assert frequencies()[(marie, "DL2654321")] == frequencies()[(jan, "DL2123456")] == "immediate"
    assert "F2026-0043" in text_part(relay.to(jan)[0].message)  # told only what he wrote himself


def test_expired_and_other_purpose_tokens_are_refused(smtp_rt, relay, inbound_smtp, notices, clock):
    marie = factories.MARIE.email
    address = notices[(marie, "F2026-0042")]
    web = web_client(smtp_rt)
    before = snapshot()
    for path in (f"/unsubscribe/{local_token(address)}", f"/auth/{local_token(address)}"):
        assert web.get(path).status_code == 410
        assert web.post(path, data={"csrf_token": csrf(web), "List-Unsubscribe": "One-Click"}).status_code == 410
    unsubscribe = smtp_rt.reply_token(User.get(User.email == marie).id, None, "unsubscribe")
    login_page = web.get(f"/auth/{unsubscribe}")
    assert login_page.status_code == 410 and snapshot() == before
    clock.advance(days=smtp_rt.config.security.reply_token_days + 1)
    reply_as(inbound_smtp, marie, address, "STOP")
    settle(smtp_rt)
    row = InboundMessage.get()
    assert row.status == "staff" and "reply token expired" in row.action
    assert frequencies()[(marie, "DL2123456")] == "immediate"


def test_the_same_reply_delivered_again_is_acted_on_once(smtp_rt, relay, inbound_smtp, notices, clock):
    marie = factories.MARIE.email
    address = notices[(marie, "F2026-0042")]
    raw = message(marie, address, "Re: document", "DUPLICATA F2026-0042", message_id="<replay-1@client.example>")
    for _ in range(3):
        assert send(inbound_smtp, raw, marie, address).code == 250
    settle(smtp_rt)
    clock.advance(days=1)  # the same bytes a day later: still the same message
    assert send(inbound_smtp, raw, marie, address).code == 250
    settle(smtp_rt)
    assert InboundMessage.select().count() == 1 and DuplicateRequest.select().count() == 1
    assert len(relay.to(marie)) == 1
