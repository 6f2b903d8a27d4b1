"""Reading reply commands from subjects and trimmed replies."""

from __future__ import annotations

import pytest

from mailflow.inbound.command_parser import (
    KEYWORDS,
    ParsedCommand,
    find_commands,
    normalize_document_number,
    strip_subject_prefixes,
)


def _names(subject: str, text: str = "") -> list[tuple[str, list[str]]]:
    return [(c.name, c.args) for c in find_commands(subject, text)]


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
        assert find_commands("", f"{keyword} {number}") == [ParsedCommand("duplicate", ["F2026-0042"])]


def test_duplicate_without_a_number_asks_for_one() -> None:
    assert find_commands("", "DUPLICATE") == [ParsedCommand("duplicate", [])]
    assert find_commands("", "Duplicata please") == [ParsedCommand("duplicate", [])]


def test_duplicate_of_several_documents() -> None:
    assert _names("", "DUPLICATE F2026-0042 F2026-0043") == [("duplicate", ["F2026-0042"]), ("duplicate", ["F2026-0043"])]


def test_a_bare_duplicate_is_dropped_when_the_number_comes_elsewhere() -> None:
    assert _names("Re: duplicata", "DUPLICATA F2026-0042") == [("duplicate", ["F2026-0042"])]


def test_keyword_must_open_its_line() -> None:
    assert find_commands("", "please stop sending") == []
    assert find_commands("", "I would like a duplicate of F2026-0042") == []
    assert _names("", "STOP please") == [("stop", [])]
    assert _names("", "Stop!") == [("stop", [])]
    assert _names("", "  *STOP*  ") == [("stop", [])]


def test_subject_prefix_chains_are_removed() -> None:
    for subject in ("Re: STOP", "RE : TR: stop", "Fwd: AW: WG: Stop", "Antw: Doorst: stop", "[EXT] Re: [ticket 12] STOP",
                    "Re[2]: stop", "SV: stop"):
        assert _names(subject) == [("stop", [])], subject
    assert strip_subject_prefixes("RE : TR: [ext] Fwd: Nouvelle facture") == "Nouvelle facture"


def test_subject_that_merely_mentions_a_keyword() -> None:
    assert find_commands("Re: Nouvelle facture disponible, help me", "") == []


def test_only_the_first_non_empty_lines_count() -> None:
    text = "Bonjour,\n\n\nHEBDOMADAIRE\nmerci\n"
    assert _names("", text) == [("frequency", ["weekly"])]
    late = "a\nb\nc\nd\ne\nSTOP\n"
    assert find_commands("", late) == []
    assert _names("", late.replace("a\n", "", 1)) == [("stop", [])]
    assert find_commands("", late, max_lines=6) == [ParsedCommand("stop", [])]


def test_subject_and_body_together_and_deduplicated() -> None:
    commands = find_commands("Re: WEEKLY", "weekly\nRESEND\nweekly")
    assert commands == [ParsedCommand("frequency", ["weekly"]), ParsedCommand("resend", [])]
    assert [c.source for c in commands] == ["subject", "body"]


def test_language_is_reported_but_not_compared() -> None:
    command = find_commands("", "HEBDOMADAIRE")[0]
    assert command.language == "fr"
    assert command == ParsedCommand("frequency", ["weekly"])


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


def test_registry_is_uppercase_and_accent_free() -> None:
    for keyword in KEYWORDS:
        assert keyword == keyword.upper() and keyword.isascii()


def test_a_keyword_opening_a_sentence_is_not_a_command():
    assert find_commands("", "Stop by our office tomorrow please") == []
    assert find_commands("", "Help me understand this invoice, it looks wrong") == []
    assert find_commands("", "STOP please") == [ParsedCommand("stop", [])]
