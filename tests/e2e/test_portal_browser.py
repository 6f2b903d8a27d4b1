"""The portal as people meet it, in a real headless Chromium against the real server, mail included: every page
checked by axe-core (logged out, as a customer, as staff; at 1280 and 375 px), the issuer's own face, reaching
support and being answered, help, a code by reply, the keyboard on /documents and the page one was sent to.

Screenshots at 1280 and 375 px go to test-output/portal/ at the project root (ignored by git).
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest

from mailflow import accounts
from mailflow.accounts import Person
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import store_raw
from mailflow.models import Customer, InboundMessage, User
from tests.support import factories
from tests.support.browser import (  # noqa: F401 (browser is a fixture)
    CHROMIUM, OUTPUT, browser, deliver, live_viewer,
)
from tests.support.outbox import link, text

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]

pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")
SHOTS = OUTPUT.parent / "portal"
MARIE, JAN, STAFF = factories.MARIE.email, factories.JAN.email, "desk@lease.example"
LOCALES = {"fr": "fr-BE", "nl": "nl-BE", "de": "de-BE", "en": "en-GB"}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
SUPPORT = "aide@lease-services.example"
# what sticks out past a phone's width, outside the regions meant to scroll
WIDEST = """() => [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > 376
    && !(el.parentElement && el.parentElement.closest('.table-scroll'))).slice(0, 6).map(el => el.tagName + '.' + el.className + ' ' + el.textContent.slice(0, 30))"""


@pytest.fixture
def live(smtp_rt, tmp_path):
    """DL2 with a face of its own; Marie (fr) with DL2123456 and 'Garage Dupont SRL (Namur)' at DL5, shared with
    Jan (nl); a dozen documents; a staff member (en); a question to support naming a customer number."""
    rt = smtp_rt
    (tmp_path / "logo.png").write_bytes(PNG)
    rt.config.issuers[0] = replace(rt.config.issuers[0], support_address=SUPPORT, colour="#7a1f5c",
                                   logo=str(tmp_path / "logo.png"), footer="Lease Services SA · BE0400000000")
    factories.customer(rt, "DL2123456")
    factories.customer(rt, "DL5000001", company="Garage Dupont SRL (Namur)")
    factories.share(rt, "DL2123456")
    accounts.add_staff(rt, Person(STAFF, "Desk", "", "en"))
    rt.clock.advance(hours=1)
    server = live_viewer(rt)
    for index in range(12):
        factories.document(rt, "DL2123456" if index % 3 else "DL5000001", f"F2026-{index + 40:04d}",
                           f"{1234.56 + index * 101}", "credit_note" if index % 5 == 0 else "invoice",
                           f"2026-{(index % 10) + 1:02d}-{(index % 27) + 1:02d}")
    write(rt, "paul@clinic.example", "Question", "Bonjour, pourquoi la facture F2026-0041 de DL2123456 ?")
    yield server
    server.stop()


def write(rt, sender: str, subject: str, body: str, to: str = f"support@{'reply.mailflow.example'}",
          in_reply_to: str = "") -> InboundMessage:
    """A message arriving at mailflow's door, processed as the inbound worker does."""
    head = f"In-Reply-To: {in_reply_to}\r\n" if in_reply_to else ""
    raw = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{abs(hash(body))}@client.example>\r\n"
           f"{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    row = store_raw(rt, raw, "smtp", sender, [to])
    InboundWorker(rt).flush()
    return InboundMessage.get_by_id(row.id)


def reply(rt, message, sender: str, body: str) -> InboundMessage:
    """`sender` answers one of our mails (to its signed Reply-To)."""
    return write(rt, sender, f"Re: {message['Subject']}", body, message["Reply-To"], message["Message-ID"])


def fresh(browser, language: str):
    return browser.new_context(locale=LOCALES[language], viewport={"width": 1280, "height": 900}).new_page()


def mail(rt, relay, email: str, kind: str):
    from tests.support.outbox import mails_to  # noqa: PLC0415 - only to count what is already there
    return deliver(rt, email, kind, relay, before=len(mails_to(email, kind)) - 1)


def log_in(rt, relay, browser, live, email: str, language: str, path: str = "/login"):
    page = fresh(browser, language)
    page.goto(f"{live.url}{path}")
    page.locator("#email").fill(email)
    page.locator("main form button[type=submit]").click()
    page.get_by_role("status").wait_for()
    page.goto(live.url + link(mail(rt, relay, email, "login"), "/auth/"))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    return page


def shoot(page, name: str, fits: bool = True) -> None:
    """The page at 1280 and 375 px; at 375 nothing may scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 or not fits, f"{name} is too wide at 375"
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def axe_violations(page) -> list[str]:
    """What axe-core (the copy bundled in axe-playwright-python, pinned) finds on the page as it is."""
    results = axe_api.Axe().run(page).response
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in results["violations"]]


def sweep(page, base: str, paths: list[str], who: str) -> list[str]:
    """axe-core at 1280 and 375 px on every path, with a screenshot of each; what it found, by page."""
    found = []
    for path in paths:
        page.goto(base + path)
        name = f"{who}{re.sub(r'[^a-z0-9]+', '-', path.lower()).rstrip('-')}"
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            found += [f"{who} {path} @{width}: {v}" for v in axe_violations(page)]
            if width == 375 and page.evaluate("document.documentElement.scrollWidth") > 375:
                found.append(f"{who} {path} @375: the page scrolls sideways {page.evaluate(WIDEST)}")
        shoot(page, name, fits=False)  # found above
    return found


def test_axe_finds_nothing_on_any_page_logged_out_as_customer_and_as_staff(smtp_rt, relay, live, browser):
    rt = smtp_rt
    marie, jan = User.get(User.email == MARIE), User.get(User.email == JAN)
    customer = Customer.get(Customer.number == "DL2123456")
    question = InboundMessage.select().order_by(InboundMessage.id).first()
    token = rt.reply_token(marie.id, customer.id, "unsubscribe")
    from tests.support.web import link_token  # noqa: PLC0415
    anonymous = fresh(browser, "fr")
    found = sweep(anonymous, live.url, ["/login", "/help", "/activation", f"/auth/{link_token(rt, marie)}",
                                        f"/unsubscribe/{token}", "/nowhere"], "anon")
    customer_page = log_in(rt, relay, browser, live, MARIE, "fr")
    found += sweep(customer_page, live.url, ["/documents", "/documents?sort=amount&order=asc", "/settings",
                                             "/sharing", "/activation", "/help"], "marie")
    shared = log_in(rt, relay, browser, live, JAN, "nl")
    found += sweep(shared, live.url, ["/documents", f"/primary-contact/{customer.id}"], "jan")
    staff = log_in(rt, relay, browser, live, STAFF, "en")
    found += sweep(staff, live.url, ["/staff", "/staff/inbound", f"/staff/inbound/{question.id}", "/staff/outbound",
                                     "/staff/bounces", "/staff/confirmations", "/staff/people",
                                     f"/staff/users/{marie.id}", f"/staff/merge?keep={MARIE}&other={jan.email}"],
                   "staff")
    assert not found, "\n".join(found)


def test_a_question_to_support_is_answered_from_the_console_in_each_customers_language(smtp_rt, relay, live, browser):
    rt = smtp_rt
    notice = mail(rt, relay, MARIE, "notice")  # the issuer's face: its From, logo and support address
    assert notice["From"] == f"Lease Services <{rt.config.outbound.from_address}>" and SUPPORT in text(notice)
    assert any(part.get_content_type() == "image/png" and part["Content-ID"] for part in notice.walk())
    shown = fresh(browser, "fr")
    shown.set_content(notice.get_body(("html",)).get_content())
    shoot(shown, "notice-with-the-issuers-face-fr")
    asked = write(rt, MARIE, "Facture F2026-0041", "Bonjour, le montant de la facture F2026-0041 est-il correct ?",
                  to=SUPPORT)
    jan_asks = reply(rt, mail(rt, relay, JAN, "notice"), JAN, "Goedendag, klopt het bedrag van deze factuur wel?")
    staff = log_in(rt, relay, browser, live, STAFF, "en")
    assert staff.url.endswith("/staff")  # staff land on their console
    staff.goto(f"{live.url}/staff/inbound/{asked.id}")
    assert staff.get_by_role("link", name="F2026-0041").is_visible()  # linked to the document it names
    for message, words, language in ((asked, "Oui, le tarif a changé en octobre.", "fr"),
                                     (jan_asks, "Ja, het tarief is in oktober gewijzigd.", "nl")):
        staff.goto(f"{live.url}/staff/inbound/{message.id}")
        staff.get_by_label(re.compile("Your answer to")).fill(words)
        shoot(staff, f"console-answer-{language}")
        staff.get_by_role("button", name="Send the answer").click()
        staff.get_by_role("status").wait_for()
    answer = mail(rt, relay, MARIE, "answer")
    assert answer["In-Reply-To"] == asked.message_id and answer["Subject"] == "Re: Facture F2026-0041"
    assert "Bonjour Marie," in text(answer) and "Le service clientèle de Lease Services" in text(answer)
    assert "Oui, le tarif a changé en octobre." in text(answer) and SUPPORT in text(answer)
    dutch = mail(rt, relay, JAN, "answer")
    assert "Beste Jan," in text(dutch) and "De klantendienst van Lease Services" in text(dutch)


def test_help_by_reply_leads_to_the_help_page_in_two_languages(smtp_rt, relay, live, browser):
    rt = smtp_rt
    reply(rt, mail(rt, relay, JAN, "notice"), JAN, "HULP")
    answer = mail(rt, relay, JAN, "answer")
    assert answer["Subject"] == "Uw verzoek: HULP" and "CODE" in text(answer)
    page = fresh(browser, "fr")  # a French browser: the page follows the link's ?lang
    page.goto(live.url + link(answer, "/help") + "?lang=nl")
    page.get_by_role("heading", name="Antwoorden op onze mails").wait_for()
    assert page.get_by_text("DUPLICAAT F2026-0042", exact=True).is_visible() and page.get_by_text(SUPPORT).count() == 0
    assert page.locator("main nummer").count() == 0  # "<nummer>" is text, not markup
    shoot(page, "help-nl")
    marie = log_in(rt, relay, browser, live, MARIE, "fr")
    marie.get_by_role("link", name="Aide", exact=True).first.click()
    marie.get_by_role("heading", name="Répondre à nos e-mails").wait_for()
    assert marie.get_by_text("DUPLICATA F2026-0042", exact=True).is_visible() and marie.get_by_text(SUPPORT).count()
    shoot(marie, "help-fr")


def test_a_code_asked_by_reply_reaches_the_primary_contact_who_goes_paperless(smtp_rt, relay, live, browser):
    rt = smtp_rt
    reply(rt, mail(rt, relay, JAN, "notice"), JAN, "Activeringscode aub")
    assert "hoofdcontactpersoon" in text(mail(rt, relay, JAN, "answer"))
    reply(rt, mail(rt, relay, MARIE, "notice"), MARIE, "Code d'activation svp")
    coded = mail(rt, relay, MARIE, "code")
    assert coded["Subject"] == "Votre code d'activation pour DL2123456"
    code = next(line for line in text(coded).splitlines() if re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", line))
    marie = log_in(rt, relay, browser, live, MARIE, "fr")
    marie.goto(f"{live.url}/activation")
    marie.locator("#code").fill(code)
    shoot(marie, "code-by-reply-fr")
    marie.locator("main form[action='/activation'] button").click()
    marie.get_by_role("status").wait_for()
    assert Customer.get(Customer.number == "DL2123456").paperless is True


def test_the_documents_page_by_keyboard_and_at_every_width(smtp_rt, relay, live, browser):
    rt = smtp_rt
    page = log_in(rt, relay, browser, live, MARIE, "fr")
    order = page.evaluate("""() => [...document.querySelectorAll(
        'main a[href], main input:not([type=hidden]), main select, main button, main summary')]
        .map(el => el.id || el.className)""")
    assert order.index("date_from") < order.index("sort-date")  # the filters come before the table
    page.locator("#sort-amount").click()
    page.wait_for_url(re.compile("sort=amount"))
    assert page.evaluate("document.activeElement.id") == "sort-amount"  # focus stays where the person was
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    assert outline == "rgb(11, 61, 145)"  # 10:1 on white, where #ffbf47 was 1.6:1
    for width in (1400, 1600, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("""() => { const box = document.querySelector('.documents-main');
            return box.scrollWidth <= box.clientWidth; }"""), f"the documents table is too wide at {width} px"
    page.set_viewport_size({"width": 375, "height": 740})
    heights = page.evaluate("[...document.querySelectorAll('a.pdf-link')].map(a => a.getClientRects().length)")
    assert set(heights) == {1}  # each document number on one line
    shoot(page, "documents-sorted-fr")
    assert "Garage Dupont SRL (Namur)" in page.content() and "((" not in text(mail(rt, relay, MARIE, "notice"))


def test_a_mailed_link_to_a_page_behind_the_login_lands_there_after_logging_in(smtp_rt, relay, live, browser):
    rt = smtp_rt
    from mailflow.inbound import bounces  # noqa: PLC0415
    with rt.db.atomic():
        bounces.suppress(rt, MARIE, "bounce 5.1.1 user unknown")
        bounces.dead_primary(rt, MARIE)
    hint = mail(rt, relay, JAN, "primary_bounced")
    page = fresh(browser, "fr")  # Jan's browser says French; his pages speak Dutch once he is known
    page.goto(live.url + link(hint, "/primary-contact/"))
    page.wait_for_url(re.compile(r"/login\?next="))
    page.locator("#email").fill(JAN)
    page.locator("main form button[type=submit]").click()
    page.get_by_role("status").wait_for()
    page.goto(live.url + link(mail(rt, relay, JAN, "login"), "/auth/"))
    page.get_by_role("button", name="Doorgaan").wait_for()  # the link's page in his language
    shoot(page, "link-confirmation-nl")
    page.get_by_role("button", name="Doorgaan").click()
    page.wait_for_url(re.compile(r"/primary-contact/\d+$"))
    assert page.get_by_label("Nieuw e-mailadres van Marie Dupont").is_visible()
    shoot(page, "sent-to-after-login-nl")
