"""French texts put a no-break space before : ; ? and ! ("Date : …", "Des questions ?"), in every catalogue."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from mailflow import i18n
from mailflow.outbound.composer import one_line

# a sentence's : ; ? ! (followed by a space, a closing quote or the end) without a no-break space before it
LOOSE = re.compile(r"(?<![\u00a0\u202f])[:;?!](?=[\s»\"]|$)")


def french_texts() -> list[tuple[str, str]]:
    found = []
    for path in sorted((i18n.LOCALE_DIR / "fr" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle):
                texts = message.string if isinstance(message.string, tuple) else (message.string,)
                found += [(path.name, text) for text in texts if message.id and text]
    return found


def test_every_french_text_has_its_no_break_spaces():
    loose = [f"{name}: {text!r}" for name, text in french_texts()
             if LOOSE.search(text.replace("://", "").replace("Authorization: Bearer", ""))]  # a header's name
    assert not loose, "\n".join(loose)


def test_a_french_label_and_its_value_are_joined_the_french_way():
    assert i18n.colon("fr") == "\u00a0: " and i18n.colon("nl") == ": "


def test_a_subject_keeps_its_no_break_spaces_and_loses_its_line_breaks():
    assert one_line("Votre résumé quotidien\u00a0: 2 novembre\r\nBcc: x") == "Votre résumé quotidien\u00a0: 2 novembre Bcc: x"
