"""Asking for an activation code by reply (CODE, or in words, in four languages): a new code goes to the customer
number's primary contact only; RESEND from an active account sends a login link; each answer's subject says what
it answers."""

from __future__ import annotations

import pytest

from mailflow import activation
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import ActivationCode, Customer, User
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.outbox import mails_to, text

MARIE = factories.MARIE.email


@pytest.fixture
def numbers(rt):
    factories.customer(rt, "DL2123456")
    factories.share(rt, "DL2123456")
    return rt


def reply(rt, user: User, body: str, customer: Customer | None = None, subject: str = "Re: notice") -> None:
    token = rt.reply_token(user.id, customer.id if customer else None, "notice")
    raw = (f"From: {user.email}\r\nTo: reply+{token}@{rt.config.outbound.reply_domain}\r\nSubject: {subject}\r\n"
           f"Message-ID: <r{ActivationCode.select().count()}{len(body)}@client.example>\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    store_raw(rt, raw, "smtp", user.email, [f"reply+{token}@{rt.config.outbound.reply_domain}"])
    InboundWorker(rt).flush()


@pytest.mark.parametrize("words", ["CODE", "Code d'activation svp", "Activeringscode aub", "Aktivierungscode bitte",
                                   "Could you send me an activation code please?"])
def test_the_primary_contact_asking_gets_a_new_code_that_works(numbers, words):
    marie, customer = User.get(User.email == MARIE), Customer.get(Customer.number == "DL2123456")
    old = activation.issue(numbers, customer)
    reply(numbers, marie, words, customer)
    [mail] = mails_to(MARIE, "code")
    assert mail["Subject"] == "Votre code d'activation pour DL2123456" and mail["In-Reply-To"]
    code = next(line for line in text(mail).splitlines() if len(line.replace("-", "")) == 12 and "-" in line)
    assert code != old and activation.redeem(numbers, marie, code).paperless


def test_a_shared_user_asking_learns_only_that_the_primary_contact_got_it(numbers):
    jan, customer = JAN_user(), Customer.get(Customer.number == "DL2123456")
    reply(numbers, jan, "CODE klant DL2123456")
    assert len(mails_to(MARIE, "code")) == 1 and not mails_to(jan.email, "code")
    [answer] = mails_to(jan.email, "answer")
    assert answer["Subject"] == "Uw verzoek: CODE"
    assert "hoofdcontactpersoon" in text(answer) and "DL2123456" in text(answer)
    assert ActivationCode.select().where(ActivationCode.customer == customer).count() == 1


def test_a_number_the_person_does_not_see_gets_nothing_mailed_to_anyone(numbers):
    factories.customer(numbers, "DL5000001", factories.JAN, company="Jan BV")  # Jan's own number
    reply(numbers, User.get(User.email == MARIE), "CODE client DL5000001")  # not hers: which one, then?
    assert not mails_to(factories.JAN.email, "code") and not mails_to(MARIE, "code")
    assert "CODE client DL2123456" in text(mails_to(MARIE, "answer")[-1])  # the example, never whose DL5000001 is


def test_resend_from_an_active_account_sends_a_login_link_and_says_why(numbers):
    marie = User.get(User.email == MARIE)
    User.update(activated_at=numbers.now()).where(User.id == marie.id).execute()
    reply(numbers, marie, "RENVOYER")
    assert not mails_to(MARIE, "invitation") and not mails_to(MARIE, "answer")  # the link is the answer
    [login] = mails_to(MARIE, "login")
    assert login["Subject"] == "Votre lien de connexion" and login["In-Reply-To"]
