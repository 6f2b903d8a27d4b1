"""/help in four languages, from the command registry; the support address, the issuer's look, a favicon and a
title on every page."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from mailflow.inbound.commands import COMMANDS
from mailflow.web import help
from mailflow.models import User
from tests.support import factories
from tests.support.web import client, login


@pytest.mark.parametrize("language, heading, duplicate", [("fr", "Répondre à nos e-mails", "DUPLICATA F2026-0042"),
                                                          ("nl", "Antwoorden op onze mails", "DUPLICAAT F2026-0042"),
                                                          ("en", "Replying to our mails", "DUPLICATE F2026-0042"),
                                                          ("de", "Auf unsere E-Mails antworten", "DUPLIKAT F2026-0042")])
def test_help_lists_every_command_of_the_registry_in_the_visitors_language(rt, language, heading, duplicate):
    page = client(rt).get(f"/help?lang={language}")
    assert page.status_code == 200 and heading in page.text and duplicate in page.text
    for command in COMMANDS.values():
        assert help.example(command, language) in page.text
    assert f"mailto:{rt.config.outbound.from_address}" in page.text  # the support address, logged out


def test_every_page_links_help_shows_a_title_a_favicon_and_the_issuers_face(rt, tmp_path):
    (tmp_path / "logo.png").write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="))
    rt.config.issuers[0] = replace(rt.config.issuers[0], support_address="aide@lease-services.example",
                                   colour="#ffd000", logo=str(tmp_path / "logo.png"))
    factories.customer(rt, "DL2123456")
    web = login(client(rt), rt, User.get(User.email == factories.MARIE.email))
    for path in ("/documents", "/settings", "/sharing", "/help"):
        page = web.get(path).text
        assert 'href="/help"' in page and 'rel="icon"' in page and "mailto:aide@lease-services.example" in page
        assert "<title>" in page and "<title> ·" not in page and '/face/DL2.css' in page
    css = web.get("/face/DL2.css")
    assert css.headers["content-type"].startswith("text/css") and "--accent: #ffd000" in css.text
    assert "--brand: #0b5cad" in css.text  # too pale for text on white: links and buttons keep a readable blue
    assert web.get("/face/DL2/logo").content.startswith(b"\x89PNG") and web.get("/face/XX9.css").status_code == 404
    assert client(rt).get("/favicon.ico").headers["content-type"] == "image/svg+xml"
