"""Rendering: one compiled template per language, translated texts, Babel amounts and dates, escaping."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from mailflow import i18n
from mailflow.outbound.composer import one_line
from mailflow.outbound.renderer import Renderer

DOC = SimpleNamespace(number="F2026-0042", date=date(2026, 11, 2), amount_cents=123456, currency="EUR")
CUSTOMER = SimpleNamespace(number="DL2123456", company="Garage <b>Dupont</b> & Fils")
USER = SimpleNamespace(first_name="Marie", email="marie@example.be")


def render(renderer: Renderer, language: str):
    return renderer.render("document_notice", language, user=USER, document=DOC, customer=CUSTOMER,
                           document_type_label="invoice", invitation_url=None, invitation_days=14,
                           viewer_url="https://p/documents", unsubscribe_url=None, issuer_name="Lease Services",
                           action_url=None, action_label="")


def test_amounts_and_dates_follow_the_recipient_locale():
    assert i18n.money(123456, "fr") == "1\u202f234,56\xa0€"
    assert i18n.money(123456, "nl") == "€\xa01.234,56"
    assert i18n.long_date(date(2026, 11, 2), "nl") == "2 november 2026"


def test_each_language_gets_its_own_text():
    renderer = Renderer()
    assert render(renderer, "fr").subject == "Nouvelle facture F2026-0042 disponible"
    assert render(renderer, "nl").subject == "Nieuwe factuur F2026-0042 beschikbaar"
    assert render(renderer, "en").subject == "New invoice F2026-0042 available"
    assert "Montant TVAC\xa0: 1\u202f234,56\xa0€" in render(renderer, "fr").text


def test_templates_are_compiled_once_per_language():
    renderer = Renderer()
    assert renderer.template("fr", "document_notice.html") is renderer.template("fr", "document_notice.html")
    assert renderer.template("fr", "document_notice.html") is not renderer.template("nl", "document_notice.html")


def test_templates_see_every_global_of_their_language():
    renderer = Renderer()
    template = renderer.template("nl", "digest.txt")
    assert template.globals == dict(renderer.env("nl").globals) and template.globals["language"] == "nl"


def test_user_data_is_escaped_in_html_and_kept_out_of_headers():
    html = render(Renderer(), "fr").html
    assert "<b>Dupont</b>" not in html and "&lt;b&gt;Dupont&lt;/b&gt; &amp; Fils" in html
    assert one_line("Hello\r\nBcc: victim@example.com") == "Hello Bcc: victim@example.com"
