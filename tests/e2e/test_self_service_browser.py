"""What customers do for themselves, in a real headless Chromium against the real server, mail included: change of
address (and undo), signing up with a letter's code, paperless on and off, sharing by portal or by notification.

Each flow reads its mails from the test relay and follows their links, in at least two languages; screenshots at
1280 and 375 px go to test-output/self-service/ at the project root (ignored by git).
"""

from __future__ import annotations

import re

import pytest

from mailflow import accounts, activation
from mailflow.accounts import Person
from mailflow.inbound import bounces
from mailflow import login_requests
from mailflow.models import Customer, Outbox, User
from tests.support import factories
from tests.support.browser import (  # noqa: F401 (browser is a fixture)
    CHROMIUM, OUTPUT, browser, deliver, live_viewer,
)
from tests.support.outbox import link, text

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]

pytest.importorskip("playwright.sync_api")
SHOTS = OUTPUT.parent / "self-service"
MARIE = factories.MARIE.email
JAN = factories.JAN.email
# The widest element inside the flows' own parts of a page (cards, forms, notices), in CSS pixels.
WIDEST = """() => Math.max(0, ...[...document.querySelectorAll('main .card, main form, main .notice, main details')]
    .map(el => el.getBoundingClientRect().right))"""
LOCALES = {"fr": "fr-BE", "nl": "nl-BE", "de": "de-BE", "en": "en-GB"}


@pytest.fixture
def live(smtp_rt):
    """Marie (French) with DL2123456 shared with Jan (Dutch), a private DL2900000, and a document."""
    factories.customer(smtp_rt, "DL2123456")
    accounts.add_customer(smtp_rt, "DL2900000", "Marie Dupont", factories.MARIE, kind="private")
    factories.share(smtp_rt, "DL2123456")
    smtp_rt.clock.advance(hours=1)
    server = live_viewer(smtp_rt)
    factories.document(smtp_rt)
    yield server
    server.stop()


def shoot(page, name: str, fits: bool = True) -> None:
    """The page at 1280 px and at 375 px (where nothing may scroll sideways), then back to 1280."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth") or not fits, name
    assert page.evaluate(WIDEST) <= 375, name  # nothing of these flows' own is wider than the phone
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def fresh(browser, language: str):
    return browser.new_context(locale=LOCALES[language], viewport={"width": 1280, "height": 900}).new_page()


def follow(page, live, message, path: str) -> None:
    """Open the mail's link and press the one button of its confirmation page (GET changes nothing)."""
    page.goto(live.url + link(message, path))
    page.locator("main form button[type=submit]").click()


def press(page, url: str, heading: str, shot: str, button: str, said: str) -> None:
    """Open a mailed link's page, check its heading and shoot it, press its button and wait for what it says."""
    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for()
    shoot(page, shot)
    page.get_by_role("button", name=button).click()
    page.get_by_role("status").filter(has_text=said).wait_for()


def log_in(rt, relay, browser, live, email: str, language: str):
    """A fresh browser asks for a login link, opens it from the mail and confirms."""
    page = fresh(browser, language)
    page.goto(f"{live.url}/login")
    page.locator("#email").fill(email)
    page.locator("main form button[type=submit]").click()
    page.get_by_role("status").wait_for()  # the request is committed: the worker mails it
    follow(page, live, mail(rt, relay, email, "login"), "/auth/")
    page.wait_for_url(re.compile(rf"{live.url}/(documents|staff)$"))  # staff land on their console
    return page


def mail(rt, relay, email: str, kind: str):
    """The latest mail of `kind` for `email` (already asked for), delivered through the relay."""
    login_requests.drain(rt)
    queued = Outbox.select().where(Outbox.recipient == email, Outbox.kind == kind).count()
    return deliver(rt, email, kind, relay, before=queued - 1)


def test_change_of_address_confirm_and_undo(smtp_rt, relay, live, browser):
    rt, new = smtp_rt, "marie@garage-dupont.be"
    marie = log_in(rt, relay, browser, live, MARIE, "fr")
    marie.get_by_role("link", name="Paramètres").click()
    marie.get_by_label("Nouvelle adresse e-mail").fill(new)
    marie.get_by_role("button", name="Envoyer un lien de confirmation").click()
    marie.get_by_role("status").filter(has_text=f"Nous avons envoyé un lien à {new}").wait_for()
    shoot(marie, "address-asked-fr")

    confirm = mail(rt, relay, new, "address_confirm")
    assert confirm["Subject"] == "Confirmez votre nouvelle adresse e-mail"
    press(marie, live.url + link(confirm, "/address/"), heading="Confirmez votre nouvelle adresse e-mail",
          shot="address-confirm-fr", button="Confirmer ma nouvelle adresse",
          said=f"Votre adresse e-mail est désormais {new}")
    assert User.get(User.first_name == "Marie").email == new

    told = mail(rt, relay, MARIE, "address_changed")
    assert told["Subject"] == "Votre adresse e-mail a été modifiée" and new in text(told)
    owner = fresh(browser, "fr")
    press(owner, live.url + link(told, "/address/undo/"), heading="Annuler le changement d'adresse",
          shot="address-undo-fr", button="Annuler le changement",
          said=f"Votre adresse e-mail est de nouveau {MARIE}")
    marie.reload()
    assert "/login" in marie.url  # the other browser, logged in at the new address, is out


def test_a_primary_contact_changes_a_shared_users_address_who_confirms_in_dutch(smtp_rt, relay, live, browser):
    rt, new = smtp_rt, "jan@peeters-boekhouding.example"
    marie = log_in(rt, relay, browser, live, MARIE, "fr")
    marie.get_by_role("link", name="Partage").click()
    marie.get_by_text("Changer l'adresse e-mail de Jan Peeters").click()
    marie.locator("details.change-email[open]").get_by_label("Nouvelle adresse e-mail").fill(new)
    marie.locator("details.change-email[open]").get_by_role("button", name="Envoyer un lien de confirmation").click()
    marie.get_by_role("status").filter(has_text=new).wait_for()

    confirm = mail(rt, relay, new, "address_confirm")
    assert confirm["Subject"] == "Bevestig uw nieuwe e-mailadres" and "Marie Dupont vroeg" in text(confirm)
    jan = fresh(browser, "nl")
    press(jan, live.url + link(confirm, "/address/"), heading="Bevestig uw nieuwe e-mailadres",
          shot="address-confirm-nl", button="Mijn nieuwe adres bevestigen", said=f"Uw e-mailadres is nu {new}")
    shoot(jan, "address-done-nl")
    assert "F2026-0042" in jan.goto(f"{live.url}/documents").text()  # his access stayed


def test_a_bounced_primary_contact_fixed_from_a_shared_users_mail_and_the_console(smtp_rt, relay, live, browser):
    rt, new = smtp_rt, "marie.dupont@nieuw.example"
    with rt.db.atomic():
        bounces.suppress(rt, MARIE, "bounce 5.1.1 user unknown")
        bounces.dead_primary(rt, MARIE)
    notice = mail(rt, relay, JAN, "primary_bounced")
    jan = log_in(rt, relay, browser, live, JAN, "nl")
    jan.goto(live.url + link(notice, "/primary-contact/"))
    jan.get_by_label("Nieuw e-mailadres van Marie Dupont").fill(new)
    shoot(jan, "bounced-primary-nl")
    jan.get_by_role("button", name="Naar onze klantendienst sturen").click()
    jan.get_by_role("status").filter(has_text=new).wait_for()

    staff_user = accounts.add_staff(rt, Person("desk@lease.example", "Desk", "", "en"))
    staff = log_in(rt, relay, browser, live, staff_user.email, "en")
    staff.goto(f"{live.url}/staff/people")
    staff.get_by_role("link", name=f"change the address of {MARIE}").click()
    assert staff.get_by_label("New email address").input_value() == new  # Jan's hint, ready to send
    shoot(staff, "bounced-primary-staff-en", fits=False)  # the staff layout itself is wider (issue 12, item 8)
    staff.get_by_role("button", name="Send a confirmation link").click()
    staff.get_by_role("status").wait_for()
    confirm = mail(rt, relay, new, "address_confirm")
    assert "Notre service clientèle" in text(confirm)
    follow(fresh(browser, "fr"), live, confirm, "/address/")
    assert Customer.get(Customer.number == "DL2123456").primary_user.email == new


def test_signing_up_with_the_letters_code_then_paper_and_back(smtp_rt, relay, live, browser):
    rt = smtp_rt
    for number, email, language in (("DL2200000", "anne@bakkerij.example", "nl"),
                                    ("DL5000001", "heinz@metzgerei.example", "de")):
        factories.customer(rt, number, Person(f"office+{number}@example.be"), company=f"Firma {number}")
        code = activation.issue(rt, Customer.get(Customer.number == number))
        page = fresh(browser, language)
        page.goto(f"{live.url}/login")
        page.locator("main p.hint a[href='/activation']").click()
        page.locator("#customer").fill(number)
        page.locator("#code").fill(code)
        page.locator("#email").fill(email)
        page.locator("#first_name").fill("Anne" if language == "nl" else "Heinz")
        shoot(page, f"signup-{language}")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"{live.url}/login")
        assert number in page.get_by_role("status").inner_text()
        follow(page, live, mail(rt, relay, email, "login"), "/auth/")
        page.wait_for_url(f"{live.url}/documents")
        confirmed = mail(rt, relay, email, "paperless")
        assert confirmed["Subject"] == {"nl": f"{number} ontvangt zijn documenten voortaan elektronisch",
                                        "de": f"{number} erhält seine Dokumente jetzt elektronisch"}[language]
        page.goto(f"{live.url}/activation")
        page.locator(f"form[action$='/opt-out'] button").click()
        page.get_by_role("status").wait_for()
        shoot(page, f"paperless-off-{language}")
        back = mail(rt, relay, email, "paperless")
        assert "papier" in back["Subject"].lower()
        page.locator("#code").fill(code)  # the latest code brings it back
        page.locator("main form[action='/activation'] button").click()
        page.get_by_role("status").wait_for()
        assert Customer.get(Customer.number == number).paperless is True
        assert mail(rt, relay, email, "paperless")["Subject"] == confirmed["Subject"]


def test_sharing_by_portal_or_by_notification_and_private_numbers(smtp_rt, relay, live, browser):
    rt = smtp_rt
    marie = log_in(rt, relay, browser, live, MARIE, "fr")
    marie.get_by_role("link", name="Partage").click()
    assert marie.get_by_text("Les clients particuliers ne peuvent pas partager leurs documents.").is_visible()
    assert marie.locator("input[name=customer][value='%d']" % Customer.get(Customer.number == "DL2900000").id
                         ).count() == 0
    marie.get_by_label("Comment Jan Peeters reçoit les documents de DL2123456").select_option("mail")
    marie.get_by_role("button", name="Enregistrer les modifications").first.click()
    marie.get_by_role("status").wait_for()
    marie.locator("#new-email").fill("an@accountant.example")
    marie.locator(f"#new-tick-{Customer.get(Customer.number == 'DL2123456').id}").check()
    marie.get_by_label("Comment cette personne reçoit les documents").select_option("portal")
    marie.get_by_role("button", name="Partager et envoyer une invitation").click()
    marie.get_by_role("status").filter(has_text="an@accountant.example").wait_for()
    shoot(marie, "sharing-channels-fr")

    factories.document(rt, number="F2026-0099", day="2026-11-03")
    notice = mail(rt, relay, JAN, "notice")
    [pdf] = [p for p in notice.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "F2026-0099.pdf" and "DUPLICAAT" in text(notice)
    assert not Outbox.select().where(Outbox.recipient == "an@accountant.example", Outbox.kind == "notice").exists()
    jan = log_in(rt, relay, browser, live, JAN, "nl")
    assert "F2026-0099" not in jan.content()  # notifications only: not in the viewer
    shoot(jan, "sharing-mail-only-nl")
