"""mailflow's own words, in every language: a line of them in a reply is quoted from our mail, never a request."""

from __future__ import annotations

import re
from functools import lru_cache

from babel.messages.pofile import read_po

from mailflow import i18n
from mailflow.inbound.lexicon import words_of
from mailflow.inbound.trimming import MAX_LINES, trim_reply

__all__ = ["is_our_text", "written_text"]

_CATALOGUES = ("outbound.po", "inbound.po", "portal.po")
_PLACEHOLDER = re.compile(r"%\(\w+\)s")
_URL = re.compile(r"(?:https?://|www\.)\S+|<[^>]*@[^>]*>")
_BARE_LINE_WORDS = 6  # shorter, a line of ours counts only with its link: "Stop these notifications: https://…"
_LONGEST = 600  # characters: none of our lines (with its link) is longer


def is_our_text(line: str, whole: bool = False) -> bool:
    """Whether `line` is one of our texts (a subject when `whole`: then even a short one counts).

    A person may well type "Stop these notifications" themselves; our footer always carries its link.
    """
    if len(line) > _LONGEST:
        return False
    words = " ".join(words_of(_URL.sub(" ", line)))
    if not words or not _pattern().fullmatch(words):
        return False
    return whole or bool(_URL.search(line)) or len(words.split()) >= _BARE_LINE_WORDS


def written_text(body: str) -> str:
    """What the sender wrote: above the quote, or, with nothing there, below our mail."""
    return trim_reply(body) or _below_our_mail(body)


def _below_our_mail(body: str) -> str:
    """Outlook puts our mail under a rule without quoting it line by line: a sender who writes beneath it
    leaves nothing above, and only our own last line (the footer's) tells where their text begins."""
    lines = body.split("\n", MAX_LINES)[:MAX_LINES]  # as much as the trimmer reads: a huge body is not scanned whole
    last = max((i for i, line in enumerate(lines) if is_our_text(line.strip())), default=None)
    return "" if last is None else trim_reply("\n".join(lines[last + 1:]))


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    texts = {text for language in i18n.LOCALES for text in _texts(language)}
    alternatives = sorted({_as_pattern(text) for text in texts if len(words_of(text)) >= 2}, key=len, reverse=True)
    return re.compile("(?:" + "|".join(alternatives) + ")")


def _texts(language: str) -> set[str]:
    folder = i18n.LOCALE_DIR / language / "LC_MESSAGES"
    found: set[str] = set()
    for name in _CATALOGUES:
        with (folder / name).open("rb") as handle:
            for message in read_po(handle):
                for text in (message.id, message.string):
                    found.update(t for t in (text if isinstance(text, tuple) else (text,)) if t)
    found.update(_duplicate_subjects(language))
    return found


def _duplicate_subjects(language: str) -> set[str]:
    """The subject of a duplicate is composed, not one message: 'DUPLICATA: facture F2026-0042'."""
    word = i18n.gettext(language, "DUPLICATE")
    return {f"{word}: {i18n.gettext(language, kind)} %(number)s" for kind in ("invoice", "credit note")}


def _as_pattern(text: str) -> str:
    """Our text as a pattern over folded words; a placeholder stands for one to four words."""
    parts = [" ".join(words_of(part)) for part in _PLACEHOLDER.split(text)]
    return r"(?:\S+ ?){1,4}".join(re.escape(p + " ") if i < len(parts) - 1 and p else re.escape(p)
                                  for i, p in enumerate(parts)).strip()
