"""Commands written as keywords (HELP, DUPLICATE F2026-0042, WEEKLY, STOP…) in subjects and trimmed replies."""

from __future__ import annotations

import pytest

from mailflow.inbound.command_parser import find_commands
from mailflow.inbound.commands import COMMANDS, KEYWORD, CommandName, Takes
from mailflow.inbound.requests import Decision, normalize_document_number, read_requests
from mailflow.inbound.subjects import has_reply_prefix, strip_subject_prefixes


def _names(subject: str, text: str = "") -> list[tuple[str, list[str]]]:
    return [(str(i.name), list(i.args)) for i in read_requests(subject, text).intents if i.decision is Decision.ACT]


@pytest.mark.parametrize(
    ("word", "name", "args"),
    [
        ("HELP", "help", []), ("aide", "help", []), ("Hulp", "help", []), ("HILFE", "help", []),
        ("RESEND", "resend", []), ("Renvoyer", "resend", []), ("opnieuw", "resend", []), ("erneut senden", "resend", []),
        ("LOGIN", "login", []), ("connexion", "login", []), ("AANMELDEN", "login", []), ("Anmelden", "login", []),
        ("IMMEDIATE", "frequency", ["immediate"]), ("immédiat", "frequency", ["immediate"]),
        ("ONMIDDELLIJK", "frequency", ["immediate"]), ("sofort", "frequency", ["immediate"]),
        ("daily", "frequency", ["daily"]), ("QUOTIDIEN", "frequency", ["daily"]),
        ("dagelijks", "frequency", ["daily"]), ("TÄGLICH", "frequency", ["daily"]),
        ("Weekly", "frequency", ["weekly"]), ("hebdomadaire", "frequency", ["weekly"]),
        ("WEKELIJKS", "frequency", ["weekly"]), ("wöchentlich", "frequency", ["weekly"]),
        ("MONTHLY", "frequency", ["monthly"]), ("Mensuel", "frequency", ["monthly"]),
        ("maandelijks", "frequency", ["monthly"]), ("MONATLICH", "frequency", ["monthly"]),
        ("STOP", "stop", []), ("unsubscribe", "stop", []), ("Désinscrire", "stop", []), ("DESINSCRIRE", "stop", []),
        ("afmelden", "stop", []), ("ABMELDEN", "stop", []),
    ],
)
def test_every_keyword_in_every_language(word: str, name: str, args: list[str]) -> None:
    assert _names("", word) == [(name, args)]
    assert _names(f"Re: {word}") == [(name, args)]


@pytest.mark.parametrize("number", ["F2026-0042", "f2026 0042", "#F2026-0042", "F2026/0042", "f2026-0042."])
def test_duplicate_numbers_are_matched_tolerantly(number: str) -> None:
    for keyword in ("DUPLICATE", "duplicata", "Duplicaat", "DUPLIKAT"):
        assert _names("", f"{keyword} {number}") == [("duplicate", ["F2026-0042"])]


def test_duplicate_without_a_number_asks_for_one() -> None:
    assert _names("", "DUPLICATE") == [("duplicate", [])]
    assert _names("", "Duplicata please") == [("duplicate", [])]


def test_duplicate_of_several_documents_is_one_request_each() -> None:
    assert _names("", "DUPLICATE F2026-0042 F2026-0043") == [("duplicate", ["F2026-0042"]),
                                                           ("duplicate", ["F2026-0043"])]


def test_a_bare_duplicate_is_dropped_when_the_number_comes_elsewhere() -> None:
    assert _names("Re: duplicata", "DUPLICATA F2026-0042") == [("duplicate", ["F2026-0042"])]


def test_a_keyword_line_says_little_else() -> None:
    assert _names("", "STOP please") == [("stop", [])]
    assert _names("", "Stop!") == [("stop", [])]
    assert _names("", "  *STOP*  ") == [("stop", [])]
    assert _names("", "Stop by our office tomorrow please") == []
    assert _names("", "Help me understand this invoice, it looks wrong") == []


def test_subject_prefix_chains_are_removed() -> None:
    for subject in ("Re: STOP", "RE : TR: stop", "Fwd: AW: WG: Stop", "Antw: Doorst: stop", "[EXT] Re: [ticket 12] STOP",
                    "Re[2]: stop", "SV: stop"):
        assert _names(subject) == [("stop", [])], subject
        assert has_reply_prefix(subject)
    assert strip_subject_prefixes("RE : TR: [ext] Fwd: Nouvelle facture") == "Nouvelle facture"
    assert not has_reply_prefix("Nouvelle facture")


def test_subject_that_merely_mentions_a_keyword() -> None:
    assert _names("Re: Nouvelle facture disponible, help me") == []


def test_the_signature_is_not_read() -> None:
    assert _names("", "Merci, c'est parfait.\n\nMarie Dupont\nAIDE ADMINISTRATIVE\nGarage Dupont SRL") == []
    assert _names("", "Thanks.\n\nKind regards\nSTOP & GO Cars\nHelp desk") == []
    assert _names("", "Bonjour,\n\n\nHEBDOMADAIRE\nmerci\n") == [("frequency", ["weekly"])]


def test_subject_and_body_together_and_deduplicated() -> None:
    read = read_requests("Re: WEEKLY", "weekly\nRESEND\nweekly").intents
    assert [(str(i.name), list(i.args)) for i in read] == [("frequency", ["weekly"]), ("resend", [])]
    assert [i.source for i in read] == ["subject", "body"]


def test_language_and_words_are_reported() -> None:
    [intent] = read_requests("", "HEBDOMADAIRE").intents
    assert intent.language == "fr" and intent.rule == "frequency.keyword" and intent.confidence == 1.0
    assert [(s.text, s.cue) for s in intent.spans] == [("HEBDOMADAIRE", "weekly")]


def test_empty_inputs() -> None:
    assert find_commands("", "") == []
    assert find_commands("Re:", "\n\n") == []


@pytest.mark.parametrize(
    ("raw", "key"),
    [("F2026-0042", "F2026-0042"), ("f2026 0042", "F2026-0042"), ("#F2026-0042", "F2026-0042"),
     ("F2026/0042", "F2026-0042"), ("F-2026-0042", "F2026-0042"), ("2026.0042", "2026-0042"), ("  f2026_0042 ", "F2026-0042")],
)
def test_normalize_document_number(raw: str, key: str) -> None:
    assert normalize_document_number(raw) == key


def test_every_command_is_one_object_with_words_in_every_language() -> None:
    assert set(COMMANDS) == set(CommandName)
    for command in COMMANDS.values():
        assert command.help and command.rules and command.rules[0].keyword
        languages = set(command.words[KEYWORD]) if KEYWORD in command.words else set()
        if command.takes is Takes.FREQUENCY:
            languages = set.intersection(*(set(command.words[v]) for v in ("immediate", "daily", "weekly", "monthly")))
        assert languages == {"fr", "nl", "en", "de"}, command.name
    assert {c.name for c in COMMANDS.values() if c.public} == {CommandName.HELP, CommandName.LOGIN}


def test_commands_are_written_back_in_the_persons_language() -> None:
    assert COMMANDS[CommandName.DUPLICATE].keyword("fr", ("F2026-0042",)) == "DUPLICATA F2026-0042"
    assert COMMANDS[CommandName.DUPLICATE].keyword("nl", ("F2026-0042",)) == "DUPLICAAT F2026-0042"
    assert COMMANDS[CommandName.FREQUENCY].keyword("de", ("weekly",)) == "WÖCHENTLICH"
    assert COMMANDS[CommandName.STOP].keyword("en") == "STOP"
