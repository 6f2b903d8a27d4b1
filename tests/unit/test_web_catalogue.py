"""Every text of the viewer is translated into French and Dutch (and German), and every placeholder kept."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file

from mailflow import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [*sorted((ROOT / "templates" / "web").rglob("*.html")),
             *sorted((ROOT / "templates" / "email").glob("share_invitation.*"))]
PYTHON = sorted((ROOT / "mailflow" / "web").glob("*.py"))
KEYWORDS = {"_": None, "N_": None, "gettext": (2,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def web_msgids() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        found |= _ids(extract_from_file("jinja2.ext:babel_extract", str(path), keywords=KEYWORDS,
                                        options={"extensions": "jinja2.ext.i18n"}))
    for path in PYTHON:
        found |= _ids(extract_from_file("python", str(path), keywords=KEYWORDS))
    return found


def _ids(messages) -> set[str]:
    return {m[1] if isinstance(m[1], str) else m[1][0] for m in messages if m[1]}


def test_there_are_texts_to_check():
    assert len(web_msgids()) > 150


def test_every_text_is_translated_with_its_placeholders():
    missing = []
    for language in ("fr", "nl", "de"):
        catalogue = i18n.translations(language)
        for msgid in web_msgids():
            text = catalogue.gettext(msgid)
            if text == msgid and language != "de" and _needs_translation(msgid):
                missing.append((language, msgid))
            elif set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(msgid)):
                missing.append((language, f"placeholders differ: {msgid!r} -> {text!r}"))
    assert not missing, "\n".join(f"{lang}: {msgid}" for lang, msgid in missing)


def _needs_translation(msgid: str) -> bool:
    # a few words are the same in English and French or Dutch (PDF, Type, Documents…)
    return msgid not in SAME_EVERYWHERE


SAME_EVERYWHERE = {"PDF", "Type", "Documents", "Date", "Status", "Score", "Maximum", "Minimum", "Pages", "Actions",
                   "Notifications", "Page %(number)s", "Message %(id)s", "Bounces", "Filters", "Contact", "message",
                   "invitation", "bounce"}
