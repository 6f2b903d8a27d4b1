"""Every kind of mail, in every language, as it leaves (DKIM-signed): read back with email.policy.strict, its
headers and parts as filters like them, and scored by Debian's SpamAssassin on local rules with no rule of
positive score firing."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mailflow import paperless
from mailflow.accounts import Person
from mailflow.inbound import answers
from mailflow.inbound.bounces import dead_primary
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import Customer, InboundMessage, Preference, User
from mailflow.outbound import mails
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.scheduler import digests
from mailflow import support
from mailflow.web.sharing import invite
from tests.support import factories
from tests.support.inbound import message
from tests.support.scheduler import local

LANGUAGES = ("fr", "nl", "en", "de")
SCORER = Path(__file__).resolve().parents[1] / "support" / "spamscore.pl"
INFORMATIONAL = 0.01  # SpamAssassin's informational rules score 0.001 (HTML_MESSAGE: "HTML included")
# What each kind must carry: List-Unsubscribe unless it answers the person's own request.
UNSUBSCRIBED = {"notice", "invitation", "digest", "paperless", "primary_bounced", "code"}
ANSWERS = {"duplicate", "login", "answer"}


def people(rt, language: str) -> tuple[User, Customer]:
    """A primary contact speaking `language`, one number, one document, and a shared colleague."""
    number = f"DL2{100000 + LANGUAGES.index(language)}"
    person = Person(f"contact.{language}@example.be", "Anne", "Lefèvre", language)
    customer = factories.customer(rt, number, person, f"Société {language.upper()} SRL")
    return User.get(User.email == person.email), customer


def every_kind(rt, language: str) -> None:
    """Queue one mail of every kind for a person speaking `language`."""
    user, customer = people(rt, language)
    document = factories.document(rt, customer.number, f"F2026-{LANGUAGES.index(language) + 10}")  # notice
    mails.invitation(rt, user)
    mails.duplicate(rt, user, document)
    mails.login(rt, user)
    mails.activation_code(rt, customer, "ABCD-EFGH-JKL1", date(2027, 2, 15))
    paperless.change(rt, customer, True, user.email, "portal", "paperless.on")
    colleague = factories.share(rt, customer.number, Person(f"colleague.{language}@example.be", "Luc", "Maes",
                                                            language))
    invite(rt, user, colleague, [customer])
    _replies(rt, user, customer)
    dead_primary(rt, user.email)  # the colleague hears that the contact's address bounces
    _digest(rt, user, customer)


def _replies(rt, user: User, customer: Customer) -> None:
    """A command answered, an acknowledgement, and a support person's answer."""
    token = rt.reply_token(user.id, customer.id, "notice")
    for body in ("WEEKLY", "Merci beaucoup pour votre aide, bonne journée"):
        store_raw(rt, message(user.email, f"reply+{token}@reply.mailflow.example", "Re: document", body), "pipe",
                  user.email, [f"reply+{token}@reply.mailflow.example"])
    InboundWorker(rt).flush()
    last = InboundMessage.select().order_by(InboundMessage.id.desc()).get()
    support.answer(rt, last.id, "Bonjour,\n\nVoici la réponse à votre question.", "staff:sam@example.be")


def _digest(rt, user: User, customer: Customer) -> None:
    Preference.update(frequency="daily").where(Preference.user == user).execute()
    factories.document(rt, customer.number, f"F2026-{LANGUAGES.index(user.language) + 20}")
    digests.run(rt, "daily", local(2026, 11, 3, 7))


@pytest.fixture
def sent(smtp_rt, relay) -> list[tuple[str, str, bytes]]:
    """(kind, language, raw bytes as the relay received them) for every mail of every kind in every language."""
    for language in LANGUAGES:
        every_kind(smtp_rt, language)
    DeliveryWorker(smtp_rt).flush()
    from mailflow.models import Outbox  # noqa: PLC0415
    found = []
    for got in relay.received:
        row = Outbox.get(Outbox.message_id == got.message["Message-ID"])
        user = User.get_or_none(User.email == row.recipient)
        found.append((row.kind, user.language if user else "?", got.raw))
    return found


def test_every_kind_reads_strictly_and_carries_what_filters_look_for(sent):
    kinds = {kind for kind, _, _ in sent}
    assert UNSUBSCRIBED | ANSWERS <= kinds, kinds
    assert {language for _, language, _ in sent} == set(LANGUAGES)
    for kind, language, raw in sent:
        msg = message_from_bytes(raw, policy=policy.strict)
        domain = msg["From"].addresses[0].domain
        assert msg["Message-ID"].endswith(f"@{domain}>") and f"d={domain};" in msg["DKIM-Signature"]
        assert msg["Date"].datetime is not None and msg["MIME-Version"] == "1.0"
        assert msg["Content-Language"] == language and not msg.defects
        assert bool(msg["List-Unsubscribe"]) == (kind in UNSUBSCRIBED), kind
        if msg["List-Unsubscribe"]:
            assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
        assert_same_message(kind, text, html)
        assert_no_remote_images(msg, html)
        print(f"{kind:16} {language} {len(raw):7} bytes")


class Links(HTMLParser):
    """Every link with its text, every image's source, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.images: list[str] = []
        self._open: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self._open, self._href = [], values.get("href") or ""
        elif tag == "img":
            self.images.append(values.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append((self._href, " ".join("".join(self._open).split())))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)


URL = re.compile(r"https?://[^\s<>\"')]+|mailto:[^\s<>\"')]+")


def assert_same_message(kind: str, text: str, html: str) -> None:
    """Both parts lead to the same places and name the same documents; no link shows one URL and goes to another."""
    parser = Links()
    parser.feed(html)
    for href, shown in parser.links:
        if URL.fullmatch(shown) or shown.startswith("www."):
            assert shown == href or f"mailto:{shown}" == href, (kind, shown, href)
    html_urls = {href for href, _ in parser.links if href.startswith("http")}
    text_urls = set(URL.findall(text))
    assert html_urls <= text_urls | {u.rstrip(".") for u in text_urls}, (kind, html_urls - text_urls)
    for number in re.findall(r"\bF2026-\d+\b|\bDL2\d{6}\b", text):
        assert number in html, (kind, number)


def assert_no_remote_images(msg: EmailMessage, html: str) -> None:
    parser = Links()
    parser.feed(html)
    ids = {f"cid:{part['Content-ID'].strip('<>')}" for part in msg.walk() if part["Content-ID"]}
    assert all(src in ids for src in parser.images), parser.images


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="needs Debian's spamassassin (.ci/setup)")
def test_spamassassin_fires_no_rule_of_positive_score_on_any_kind(sent, tmp_path):
    files = []
    for index, (kind, language, raw) in enumerate(sent):
        path = tmp_path / f"{index:03d}-{kind}-{language}.eml"
        path.write_bytes(raw)
        files.append(path)
    done = subprocess.run(["perl", str(SCORER), str(tmp_path), *map(str, files)], capture_output=True, text=True,
                          timeout=300, check=True)
    bad = []
    for line in done.stdout.splitlines():
        path, score, rules = line.split("\t")
        print(f"{Path(path).stem:28} {float(score):6.3f}  {rules}")
        fired = [(name, float(value)) for name, _, value in (r.partition("=") for r in rules.split(",") if r)]
        bad += [(Path(path).stem, name, value) for name, value in fired if value > INFORMATIONAL]
    assert len(done.stdout.splitlines()) == len(files)
    assert not bad, bad
