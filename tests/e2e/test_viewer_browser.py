"""The viewer in a real headless Chromium against the real server, logging in through mailed links.

Screenshots go to test-output/viewer/ at the project root (ignored by git).
"""

from __future__ import annotations

import re
import pytest

from mailflow import activation
from mailflow.models import Customer, Preference, User
from tests.support import factories
from tests.support.browser import (  # noqa: F401 (browser is a fixture)
    CHROMIUM, OUTPUT, browser, deliver, link_in, live_viewer,
)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402 (after the skip)
MARIE = "marie.dupont@example.be"
JAN = "jan.peeters@fiduciaire.example"


@pytest.fixture
def viewer(smtp_rt):
    """Marie with two customer numbers and documents of both; the real server in front of them."""
    factories.customer(smtp_rt, "DL2123456")
    factories.customer(smtp_rt, "DL5000001", company="Garage Dupont Namur")
    smtp_rt.clock.advance(hours=1)
    live = live_viewer(smtp_rt)
    for customer, number, amount, kind, day in (
            ("DL2123456", "F2026-0042", "1234.56", "invoice", "2026-10-30"),
            ("DL2123456", "C2026-0003", "250.00", "credit_note", "2026-06-30"),
            ("DL2123456", "F2026-0007", "99.00", "invoice", "2026-03-15"),
            ("DL5000001", "F2026-9001", "5000.00", "invoice", "2026-09-01"),
            ("DL5000001", "C2026-9002", "75.25", "credit_note", "2026-08-12")):
        factories.document(smtp_rt, customer, number, amount, kind, day)
    yield live
    live.stop()


def shows(page, expected: list[str]) -> None:
    """The listing shows these numbers in this order, once the page a click started has loaded."""
    expect(page.locator("table.documents tbody a.pdf-link")).to_have_text(expected)


def log_in_by_mail(rt, relay, browser, live, email: str, kind: str = "login"):
    """A fresh browser asks for a link (or uses the invitation), opens it from the mail and confirms."""
    context = browser.new_context(locale="fr-BE", accept_downloads=True)
    page = context.new_page()
    if kind == "login":
        page.goto(f"{live.url}/login")
        page.get_by_label("Adresse e-mail").fill(email)
        page.get_by_role("button", name="M'envoyer un lien de connexion").click()
        page.get_by_role("heading", name="Consultez vos e-mails").wait_for()
    link = link_in(deliver(rt, email, kind, relay, before=0))
    page.goto(link)
    # the link's page speaks its recipient's language (Jan's is Dutch), whatever the browser's
    page.get_by_role("button", name=re.compile("continuer|doorgaan", re.IGNORECASE)).click()
    page.wait_for_url(f"{live.url}/documents")
    return page


def test_a_month_in_the_viewer(smtp_rt, relay, viewer, browser):
    rt = smtp_rt
    OUTPUT.mkdir(parents=True, exist_ok=True)
    code = activation.issue(rt, Customer.get(Customer.number == "DL2123456"))
    page = log_in_by_mail(rt, relay, browser, viewer, MARIE)

    # newest first, everything unread and bold
    shows(page, ["F2026-0042", "F2026-9001", "C2026-9002", "C2026-0003", "F2026-0007"])
    assert page.locator("tr.unread").count() == 5
    assert page.locator("tr.unread td").first.evaluate("td => getComputedStyle(td).fontWeight") == "700"
    page.screenshot(path=str(OUTPUT / "documents.png"), full_page=True)

    # sort by amount, then reversed
    page.get_by_role("link", name=re.compile("Montant TVAC")).click()
    shows(page, ["F2026-9001", "F2026-0042", "C2026-0003", "F2026-0007", "C2026-9002"])
    page.get_by_role("link", name=re.compile("Montant TVAC")).click()
    page.wait_for_url(re.compile("order=asc"))
    expect(page.locator("table.documents tbody a.pdf-link").first).to_have_text("C2026-9002")

    # filter by customer number (the drop-down sends itself), then type, then dates
    page.goto(f"{viewer.url}/documents")
    page.get_by_label("Numéro de client").select_option("DL5000001")
    page.wait_for_url(re.compile(r"customer=DL5000001"))
    shows(page, ["F2026-9001", "C2026-9002"])
    page.get_by_label("Type", exact=True).select_option("credit_note")
    page.get_by_role("button", name="Appliquer les filtres").click()
    shows(page, ["C2026-9002"])
    page.goto(f"{viewer.url}/documents")
    page.get_by_label("Du").fill("2026-03-01")
    page.get_by_label("Au").fill("2026-07-01")
    page.get_by_role("button", name="Appliquer les filtres").click()
    shows(page, ["C2026-0003", "F2026-0007"])

    # download a PDF: the row turns normal, and stays so after a reload
    row = page.locator("tr", has=page.get_by_role("link", name="C2026-0003", exact=True))
    with page.expect_download() as download:
        page.get_by_role("link", name="C2026-0003", exact=True).click()
    assert download.value.suggested_filename == "C2026-0003.pdf"
    assert download.value.path().read_bytes().startswith(b"%PDF-")
    assert row.get_attribute("class") == "read"
    page.reload()
    assert page.locator("tr", has=page.get_by_role("link", name="C2026-0003", exact=True)
                        ).get_attribute("class") == "read"
    assert page.locator("tr.unread").count() == 1

    # a duplicate by mail, with the PDF attached
    page.locator("tr", has=page.get_by_role("link", name="F2026-0007", exact=True)).get_by_role(
        "button", name=re.compile("Duplicata")).click()
    page.get_by_role("status").filter(has_text="Un duplicata de F2026-0007").wait_for()
    duplicate = deliver(rt, MARIE, "duplicate", relay, before=0)
    attachment = next(duplicate.iter_attachments())
    assert attachment.get_filename() == "F2026-0007-duplicate.pdf"
    assert attachment.get_content().startswith(b"%PDF-")

    # share one customer number with the accountant
    page.get_by_role("link", name="Partage").click()
    page.locator("#new-first").fill("Jan")
    page.locator("#new-last").fill("Peeters")
    page.get_by_label("Adresse e-mail").fill(JAN)
    page.get_by_label("Langue de ses e-mails").select_option("nl")
    page.get_by_label(re.compile("DL2123456")).check()
    page.get_by_role("button", name="Partager et envoyer une invitation").click()
    page.get_by_role("status").filter(has_text=JAN).wait_for()
    assert not User.get(User.email == JAN).activated_at

    # the accountant follows the invitation and sees only that number
    jan = log_in_by_mail(rt, relay, browser, viewer, JAN, kind="invitation")
    assert jan.locator("html").get_attribute("lang") == "nl"
    assert set(jan.locator("table.documents tbody td[data-label='Klantnummer']").all_inner_texts()) == {"DL2123456"}
    shows(jan, ["F2026-0042", "C2026-0003", "F2026-0007"])
    assert "DL5000001" not in jan.locator("#customer").inner_text()

    # the accountant prefers a weekly summary
    jan.get_by_role("link", name="Instellingen").click()
    jan.get_by_label(re.compile("DL2123456")).select_option("weekly")
    jan.get_by_role("button", name="Meldingen opslaan").click()
    jan.get_by_role("status").wait_for()
    jan_user = User.get(User.email == JAN)
    assert Preference.get(Preference.user == jan_user).frequency == "weekly"
    assert jan_user.activated_at is not None

    # Marie opts DL2123456 into paperless delivery with the code from her letter
    page.get_by_role("link", name="Zéro papier").click()
    page.get_by_role("textbox", name="Code d'activation").fill(code.lower())
    page.get_by_role("button", name="Activer la réception électronique").click()
    page.get_by_role("status").filter(has_text="DL2123456 reçoit désormais").wait_for()
    assert Customer.get(Customer.number == "DL2123456").paperless is True


def test_phone_width_and_accessibility(smtp_rt, relay, viewer, browser):
    page = log_in_by_mail(smtp_rt, relay, browser, viewer, MARIE)
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(OUTPUT / "documents-phone.png"), full_page=True)
    for path in ("/documents", "/settings", "/sharing", "/activation", "/documents?date_from=nope"):
        page.goto(viewer.url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        unlabeled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id)""")
        assert unlabeled == [], (path, unlabeled)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(viewer.url + "/documents")
    headers = page.locator("table.documents thead th")
    assert headers.count() == 6 and all(h.get_attribute("scope") == "col" for h in headers.all())
    # sorting works from the keyboard alone: tab to the amount header and press Enter
    for _ in range(60):
        page.keyboard.press("Tab")
        if "sort=amount" in page.evaluate("document.activeElement.href || ''"):  # its link ends in #sort-amount
            break
    else:
        pytest.fail("the amount header cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("sort=amount"))
    expect(page.locator("table.documents tbody a.pdf-link").first).to_have_text("F2026-9001")


def test_an_expired_link_offers_a_new_one_in_the_browser(smtp_rt, relay, viewer, browser):
    context = browser.new_context(locale="nl-BE")
    page = context.new_page()
    page.goto(f"{viewer.url}/login")
    page.get_by_label("E-mailadres").fill(MARIE)
    page.get_by_role("button", name="Stuur mij een aanmeldlink").click()
    link = link_in(deliver(smtp_rt, MARIE, "login", relay, before=0))
    smtp_rt.clock.advance(minutes=smtp_rt.config.security.login_link_minutes + 1)
    page.goto(link)
    assert "Deze link is verlopen." in page.content()
    assert page.get_by_label("E-mailadres").is_visible()
    assert User.get(User.email == MARIE).activated_at is None  # the expired link changed nothing
