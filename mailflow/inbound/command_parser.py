"""Read reply commands (HELP, DUPLICATE F2026-0042, WEEKLY, STOP…) from a subject and a trimmed reply."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "KEYWORDS", "Keyword", "ParsedCommand", "find_commands", "normalize_document_number", "strip_subject_prefixes",
]


@dataclass(frozen=True)
class Keyword:
    name: str
    language: str
    args: tuple[str, ...] = ()
    takes_document: bool = False


# Every accepted keyword, written as it compares: upper case, accents removed, words single-spaced.
KEYWORDS: dict[str, Keyword] = {
    "HELP": Keyword("help", "en"),
    "AIDE": Keyword("help", "fr"),
    "HULP": Keyword("help", "nl"),
    "HILFE": Keyword("help", "de"),
    "RESEND": Keyword("resend", "en"),
    "RENVOYER": Keyword("resend", "fr"),
    "OPNIEUW": Keyword("resend", "nl"),
    "ERNEUT SENDEN": Keyword("resend", "de"),
    "DUPLICATE": Keyword("duplicate", "en", takes_document=True),
    "DUPLICATA": Keyword("duplicate", "fr", takes_document=True),
    "DUPLICAAT": Keyword("duplicate", "nl", takes_document=True),
    "DUPLIKAT": Keyword("duplicate", "de", takes_document=True),
    "LOGIN": Keyword("login", "en"),
    "CONNEXION": Keyword("login", "fr"),
    "AANMELDEN": Keyword("login", "nl"),
    "ANMELDEN": Keyword("login", "de"),
    "IMMEDIATE": Keyword("frequency", "en", ("immediate",)),
    "IMMEDIAT": Keyword("frequency", "fr", ("immediate",)),
    "ONMIDDELLIJK": Keyword("frequency", "nl", ("immediate",)),
    "SOFORT": Keyword("frequency", "de", ("immediate",)),
    "DAILY": Keyword("frequency", "en", ("daily",)),
    "QUOTIDIEN": Keyword("frequency", "fr", ("daily",)),
    "DAGELIJKS": Keyword("frequency", "nl", ("daily",)),
    "TAGLICH": Keyword("frequency", "de", ("daily",)),
    "WEEKLY": Keyword("frequency", "en", ("weekly",)),
    "HEBDOMADAIRE": Keyword("frequency", "fr", ("weekly",)),
    "WEKELIJKS": Keyword("frequency", "nl", ("weekly",)),
    "WOCHENTLICH": Keyword("frequency", "de", ("weekly",)),
    "MONTHLY": Keyword("frequency", "en", ("monthly",)),
    "MENSUEL": Keyword("frequency", "fr", ("monthly",)),
    "MAANDELIJKS": Keyword("frequency", "nl", ("monthly",)),
    "MONATLICH": Keyword("frequency", "de", ("monthly",)),
    "STOP": Keyword("stop", "en"),
    "UNSUBSCRIBE": Keyword("stop", "en"),
    "DESINSCRIRE": Keyword("stop", "fr"),
    "AFMELDEN": Keyword("stop", "nl"),
    "ABMELDEN": Keyword("stop", "de"),
}
_LONGEST_KEYWORD = max(len(k.split()) for k in KEYWORDS)
_TAKES_DOCUMENT = {k.name: k.takes_document for k in KEYWORDS.values()}

# Reply and forward prefixes of the usual clients, in any chain ("RE: TR: [ext] Fwd: …").
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|tr|fw|fwd|wg|antw|antwoord|doorst|sv|vs|rif|r|ref|réf|res|enc|rv)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*"
    r"|\[[^\]]*\]\s*)+",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Z0-9]+")
# A document number: optional letter prefix glued to digits, then digit groups. A group after a
# space must be long enough that "DUPLICATE F2026-0042 2" does not swallow a stray count.
_DOCUMENT = re.compile(r"(?<![A-Z0-9])[A-Z]{0,6}[-/. ]?\d{2,}(?:[-/._]+\d+|\s+\d{3,})*(?![A-Z0-9])", re.IGNORECASE)
_GROUPS = re.compile(r"[A-Z]+|\d+")
_MAX_TRAILING_WORDS = 2


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: list[str]
    language: str | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)  # "subject" or "body"


def find_commands(subject: str, reply_text: str, max_lines: int = 5) -> list[ParsedCommand]:
    """Commands from the subject (reply prefixes removed) and the first non-empty lines of the reply.

    A keyword counts only as the first word of its line, followed by at most two words:
    "STOP please" is a command, "please stop sending" and "Stop by our office tomorrow" are not.
    """
    found = _line_commands(strip_subject_prefixes(subject or ""), "subject")
    for line in _first_lines(reply_text or "", max_lines):
        found.extend(_line_commands(line, "body"))
    return _unique(found)


def strip_subject_prefixes(subject: str) -> str:
    """The subject without any chain of reply/forward prefixes and [tags]."""
    return _SUBJECT_PREFIX.sub("", subject, count=1).strip()


def normalize_document_number(s: str) -> str:
    """A matching key for a document number: '#f2026 0042', 'F2026/0042' → 'F2026-0042'.

    Letters are uppercased and glued to the digits that follow; digit groups are joined by '-'.
    """
    groups = _GROUPS.findall(_fold(s).lstrip("#"))
    key = ""
    for index, group in enumerate(groups):
        glued = index == 0 or groups[index - 1].isalpha() != group.isalpha()
        key += group if glued else "-" + group
    return key


def _fold(text: str) -> str:
    """Upper case without accents, so 'Désinscrire', 'TÄGLICH' and 'immédiat' compare as keywords."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def _first_lines(text: str, max_lines: int) -> list[str]:
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    return lines[: max(0, max_lines)]


def _line_commands(line: str, source: str) -> list[ParsedCommand]:
    folded = _fold(line)
    words = _WORD.findall(folded)
    for size in range(min(_LONGEST_KEYWORD, len(words)), 0, -1):
        keyword = KEYWORDS.get(" ".join(words[:size]))
        if keyword is not None:
            return _commands_for(keyword, _after_words(folded, size), source)
    return []


def _after_words(folded: str, count: int) -> str:
    """The rest of a line after its first `count` words."""
    matches = list(_WORD.finditer(folded))
    return folded[matches[count - 1].end() :] if len(matches) >= count else ""


def _commands_for(keyword: Keyword, rest: str, source: str) -> list[ParsedCommand]:
    if not keyword.takes_document:
        # "STOP please" is a command; "Stop by our office tomorrow" is a sentence.
        if len(_WORD.findall(rest)) > _MAX_TRAILING_WORDS:
            return []
        return [ParsedCommand(keyword.name, list(keyword.args), keyword.language, source)]
    numbers = [normalize_document_number(m.group(0)) for m in _DOCUMENT.finditer(rest)]
    if not numbers:
        return [ParsedCommand(keyword.name, [], keyword.language, source)]
    return [ParsedCommand(keyword.name, [n], keyword.language, source) for n in numbers]


def _unique(commands: list[ParsedCommand]) -> list[ParsedCommand]:
    """Identical commands once; a bare DUPLICATE is dropped when another one names a document."""
    numbered = {c.name for c in commands if c.args}
    unique: dict[tuple[str, tuple[str, ...]], ParsedCommand] = {}
    for command in commands:
        if command.args or command.name not in numbered or not _TAKES_DOCUMENT.get(command.name):
            unique.setdefault((command.name, tuple(command.args)), command)
    return list(unique.values())
