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
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, OUTPUT, deliver, live_viewer
from tests.support.outbox import link, text

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]

sync_api = pytest.importorskip("playwright.sync_api")
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


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
