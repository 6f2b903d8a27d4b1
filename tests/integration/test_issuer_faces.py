"""Each issuer's own face: From, colour, logo (inline, by Content-ID), footer and support address on every mail
about its customer numbers, login links and invitations included; mailflow's own where no single issuer fits."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from mailflow import actions, issuers
from mailflow.accounts import Person
from mailflow.models import User
from mailflow.outbound import mails
from mailflow.scheduler import digests
from tests.support import factories
from tests.support.outbox import mails_to, text

# a 1×1 PNG: the logo's bytes only need to arrive unchanged
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
MARIE = factories.MARIE.email


@pytest.fixture
def faced(rt, tmp_path):
    """DL2 with a face of its own (logo, colour, footer, addresses); DL5 left as configured by default."""
    (tmp_path / "lease-services.png").write_bytes(PNG)
    dl2 = rt.config.issuers[0]
    rt.config.issuers[0] = replace(dl2, from_address="factures@lease-services.example",
                                   from_name="Lease Services Facturation", support_address="aide@lease-services.example",
                                   colour="#7a1f5c", logo=str(tmp_path / "lease-services.png"),
                                   footer="Lease Services SA · BE0400000000")
    factories.customer(rt, "DL2123456")
    return rt


def test_a_notice_comes_from_its_issuer_with_its_colour_logo_footer_and_support_address(faced):
    factories.document(faced)
    [notice] = mails_to(MARIE, "notice")
    assert notice["From"] == "Lease Services Facturation <factures@lease-services.example>"
    body, html = text(notice), notice.get_body(("html",)).get_content()
    for part in (body, html):
        assert "aide@lease-services.example" in part and "Lease Services SA · BE0400000000" in part
    related = next(p for p in notice.walk() if p.get_content_type() == "multipart/related")
    [logo] = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert logo.get_content() == PNG and f'src="cid:{logo["Content-ID"].strip("<>")}"' in html
    assert "#7a1f5c" in html and "<img" in html and 'src="http' not in html  # no remote images


def test_an_issuer_without_settings_speaks_with_its_name_and_mailflows_address(faced):
    factories.customer(faced, "DL5000001", Person("office@namur.example", "Luc", "", "fr"), company="Namur SA")
    factories.document(faced, "DL5000001", "F2026-9001")
    [notice] = mails_to("office@namur.example", "notice")
    assert notice["From"] == f"Lease Belgium <{faced.config.outbound.from_address}>"
    assert f"Écrivez à {faced.config.outbound.from_address}" in text(notice)
    assert not any(p.get_content_maintype() == "image" for p in notice.walk())
    assert "Lease Belgium" in notice.get_body(("html",)).get_content()  # the name in text, no logo


def test_login_links_and_invitations_wear_the_face_of_the_first_customer_number(faced):
    marie = User.get(User.email == MARIE)
    actions.login_link(faced, marie, "127.0.0.1")
    actions.resend_invitation(faced, marie)
    for kind in ("login", "invitation"):
        [mail] = mails_to(MARIE, kind)
        assert mail["From"] == "Lease Services Facturation <factures@lease-services.example>"
        assert "mailflow" not in mail["From"]
    loner = User.create(email="loner@example.be", language="nl", created_at=faced.now())
    actions.login_link(faced, loner, "127.0.0.1")
    assert mails_to("loner@example.be", "login")[0]["From"] == f"mailflow <{faced.config.outbound.from_address}>"


def test_a_digest_of_one_issuer_has_its_face_and_of_two_mailflows(faced):
    factories.customer(faced, "DL5000001", company="Garage Dupont Namur")
    marie = User.get(User.email == MARIE)
    actions.set_frequency(faced, marie, "daily")
    factories.document(faced)
    faced.clock.advance(days=1)
    digests.run(faced, "daily", faced.now())
    assert mails_to(MARIE, "digest")[0]["From"].startswith("Lease Services Facturation")
    factories.document(faced, "DL2123456", "F2026-0043")
    factories.document(faced, "DL5000001", "F2026-9001")
    faced.clock.advance(days=1)
    digests.run(faced, "daily", faced.now())
    assert mails_to(MARIE, "digest")[1]["From"] == f"mailflow <{faced.config.outbound.from_address}>"


def test_the_face_of_numbers_of_several_issuers_is_mailflows_own(faced):
    config = faced.config
    assert issuers.face_of_numbers(config, ["DL2123456", "DL2000001"]).prefix == "DL2"
    assert issuers.face_of_numbers(config, ["DL2123456", "DL5000001"]) == issuers.default_face(config)
    assert issuers.face_of_numbers(config, ["XX1"]) == issuers.default_face(config)


def test_a_pale_colour_marks_the_header_but_buttons_keep_a_readable_one(faced):
    pale = replace(issuers.face_of_numbers(faced.config, ["DL2123456"]), colour="#ffe08a")
    assert pale.ink == issuers.DEFAULT_COLOUR and issuers.contrast(pale.ink, "#ffffff") >= 4.5
    assert issuers.face_of_numbers(faced.config, ["DL2123456"]).ink == "#7a1f5c"
    assert mails.sender_of(faced.sender, pale).from_address == "factures@lease-services.example"
