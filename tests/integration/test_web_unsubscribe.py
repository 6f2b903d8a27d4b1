"""Unsubscribe links from notification mails: a confirm page, and the RFC 8058 one-click POST."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

from mailflow.models import Customer, Outbox, Preference, User
from tests.support import factories
from tests.support.web import client

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _setup(rt):
    marie = factories.customer(rt, "DL2123456").primary_user
    factories.customer(rt, "DL5000001", company="Namur")
    return marie, Customer.get(Customer.number == "DL2123456")


def _frequencies(user: User) -> dict[str, str]:
    return {p.customer.number: p.frequency for p in Preference.select().where(Preference.user == user)}


def test_the_link_in_a_real_notice_stops_that_number_only(rt):
    marie, customer = _setup(rt)
    document = factories.document(rt)
    message = message_from_bytes(bytes(Outbox.get(Outbox.document == document).raw), policy=policy.default)
    url = message["List-Unsubscribe"].split(",")[0].strip("<> ")
    path = url.removeprefix("https://portal.example.test")
    web = client(rt)
    page = web.get(path)
    assert page.status_code == 200 and "DL2123456" in page.text and 'lang="fr"' in page.text
    assert _frequencies(marie) == {"DL2123456": "immediate", "DL5000001": "immediate"}  # GET changed nothing
    # a mailbox provider posts without cookies or CSRF token
    answer = client(rt).post(path, data=ONE_CLICK)
    assert answer.status_code == 200
    assert _frequencies(marie) == {"DL2123456": "off", "DL5000001": "immediate"}


def test_one_click_accepts_multipart_bodies_too(rt):
    marie, customer = _setup(rt)
    token = rt.reply_token(marie.id, customer.id, "unsubscribe")
    answer = client(rt).post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200 and _frequencies(marie)["DL2123456"] == "off"


def test_a_token_without_a_customer_stops_everything(rt):
    marie, _ = _setup(rt)
    token = rt.reply_token(marie.id, None, "unsubscribe")
    assert client(rt).post(f"/unsubscribe/{token}", data=ONE_CLICK).status_code == 200
    assert set(_frequencies(marie).values()) == {"off"}


def test_forged_expired_or_other_purpose_tokens_change_nothing(rt):
    marie, customer = _setup(rt)
    notice = rt.reply_token(marie.id, customer.id, "notice")
    expired = rt.signer.reply_token(marie.id, customer.id, "unsubscribe", date(2026, 1, 1))
    good = rt.reply_token(marie.id, customer.id, "unsubscribe")
    forged = good[:-2] + ("aa" if not good.endswith("aa") else "bb")
    web = client(rt)
    for token in (notice, expired, forged, "nonsense"):
        assert web.get(f"/unsubscribe/{token}").status_code == 410
        assert web.post(f"/unsubscribe/{token}", data=ONE_CLICK).status_code == 410
    assert web.post(f"/unsubscribe/{good}", data={"List-Unsubscribe": "Maybe"}).status_code == 400
    assert set(_frequencies(marie).values()) == {"immediate"}
