"""A reply cut into clauses of tagged words: numbers, links and addresses found, phrases and typos read against
the lexicon, our own quoted lines and the signature left out."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from mailflow.inbound.lexicon import (CONTRAST, FUNCTION_WORDS, MONTHS, SEPARABLE, SIGNAL, Cue, Entry, Lexicon,
                                      asks_politely, fold)
from mailflow.inbound.ours import is_our_text

__all__ = ["Clause", "Token", "clauses_of", "normalize_document_number"]

_URL = r"(?:https?://|www\.)[^\s<>\"]+"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# A document number: letters glued to digits (F2026-0042, INV/2026/7, f2026 0042). A group after a space
# must be long enough that "F2026-0042 2 fois" does not swallow a count.
# Capitals may stand apart from a long group of digits ("F 2026 0104", "dossier DL 4400123"); lower-case letters
# may not ("le 15 novembre" is a date).
_NUMBER = (r"(?<![\w@/.\-])(?:[A-Za-z]{1,5}[-/.]?|[A-Z]{1,2}\s(?=\d{4}))\d{2,}(?:(?:[-/._]|\s(?=\d{3,}))\d+)*"
           r"(?![\w@]|[-/.]\w)")
_DIGITS = r"\d{5,}(?:[-/.]\d+)*"
# "…ne me convient pas : je préfère…" turns to another clause; "Rechnung: F2026-0256", "Kundennr.: DL2876543" name a
# number, and a colon at the end of a line opens a list
_COLON = r":\s+(?![A-Za-z]{0,5}[\s/.-]?\d)"
_SCANNER = re.compile(rf"(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<number>{_NUMBER})|(?P<digits>{_DIGITS})"
                      r"|(?P<word>[^\W_]+|[#°])|(?P<stop>[.!?;]+)|(?P<pause>[,()\u2013\u2014]|\s-\s|" + _COLON + ")")
_GROUPS = re.compile(r"[A-Z]+|\d+")
# Customer numbers as every mail of ours prints them ("Numéro de client: DL2123456"): the issuers' prefixes (DL2,
# DL5) and a serial. One written beside a document number ("F2026-0077 – DL7001234") says where to look.
_CUSTOMER_NUMBER = re.compile(r"DL\d{7}")
_LIST_WORDS = frozenset({"et", "and", "en", "und", "ainsi", "que", "as", "well", "ook", "sowie", "also", "aussi"})
_SIGN_OFF = {Cue.GREETING, Cue.CLOSING, Cue.REQUEST}
# A full stop after these is an abbreviation's ("invoice no. F2026-0042", "Tel. 02…", "Dr. Braun"), not a sentence's.
_ABBREVIATIONS = frozenset({"no", "nr", "n", "num", "ref", "réf", "tel", "tél", "dr", "mr", "mrs", "ms", "mme", "m",
                            "st", "ca", "bzw", "bspw", "evt", "i", "a", "z", "b", "etc", "vs", "nº", "dhr", "mevr",
                            "hr", "fr", "prof", "ing", "ir", "resp", "vgl", "cf", "ggf", "usw", "mw", "kd", "inv",
                            "fact"})


@dataclass
class Token:
    text: str  # folded; a phrase's words joined by spaces
    start: int
    end: int
    tags: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    by_language: dict[str, set[str]] = field(default_factory=dict)  # the lexicon's tags, per language
    modifiers: set[str] = field(default_factory=set)  # tags of a compound's first part only ('Rechnungs|mail')
    value: str = ""  # a document number's normalized form; the digits of a bare number
    capitalized: bool = False  # as written: names in signatures are


@dataclass
class Clause:
    tokens: list[Token]
    sentence: int  # clauses of one sentence share it
    line: int
    question: bool = False  # its sentence ends with "?"
    exclaimed: bool = False  # its sentence ends with "!"
    turn: bool = False  # opens with 'but' after a pause: "…later wel, maar kan ik…" says something else
    item: bool = False  # on a line of a list ("- facture F2026-0311")

    def tags(self) -> set[str]:
        return {tag for token in self.tokens for tag in token.tags}

    def heads(self) -> set[str]:
        """The tags of what the words are: 'Rechnungsbenachrichtigungen' are notifications, about invoices."""
        return {tag for token in self.tokens for tag in token.tags - token.modifiers}

    def numbers(self) -> list[str]:
        return [t.value for t in self.tokens if Cue.NUMBER in t.tags]

    def joined(self, other: Clause) -> Clause:
        return Clause(self.tokens + other.tokens, self.sentence, self.line, self.question or other.question,
                      self.exclaimed or other.exclaimed, self.turn, self.item)


def normalize_document_number(s: str) -> str:
    """A matching key for a document number: '#f2026 0042', 'F2026/0042' → 'F2026-0042'.

    Letters are uppercased and glued to the digits that follow; digit groups are joined by '-'.
    """
    groups = _GROUPS.findall(fold(s).upper().lstrip("#"))
    key = ""
    for index, group in enumerate(groups):
        glued = index == 0 or groups[index - 1].isalpha() != group.isalpha()
        key += group if glued else "-" + group
    return key


def clauses_of(text: str, lex: Lexicon, signature: bool = True, ours: bool = False) -> list[Clause]:
    """The tagged clauses of a text, without (unless `ours`) lines of our own mails nor (when `signature`) a
    signature."""
    clauses: list[Clause] = []
    lines = _lines(text, ours)
    for number, line in enumerate(lines):
        for clause in _line_clauses(text, line, number):
            _phrases(clause, lex)
            clauses.append(clause)
    _asked_items(clauses, [text[start:end] for start, end in lines])
    _quoted(clauses, text)
    _in_language(clauses)
    for clause in clauses:
        _readings(clause)
    clauses = [part for clause in clauses for part in _at_contrast(clause)]
    clauses = [part for clause in clauses for part in _at_coordination(clause)]
    clauses = _elliptic_clauses(_lists_joined(clauses))
    return _before_signature(clauses) if signature else clauses


# --- lines, sentences, clauses ------------------------------------------------------------------------------

def _lines(text: str, ours: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each line worth reading, a wrapped sentence's lines joined into one."""
    spans, start = [], 0
    for raw in text.split("\n"):
        end = start + len(raw)
        if raw.strip() and (ours or not is_our_text(raw)):
            if spans and _continues(text[spans[-1][0]:spans[-1][1]], raw):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        start = end + 1
    return spans


# "- …", "• …", "1. …", "a) …": an item of a list
_BULLET = re.compile(r"\s*(?:[-*\u2022\u00b7\u2013]|\d{1,2}[.)]|[a-z]\))\s+")
# "Two requests:", "deux demandes :", "twee vragen:", "zwei Bitten:": the items below are what is asked
_ASKED_BELOW = frozenset({"requests", "request", "demandes", "demande", "vragen", "verzoeken", "verzoekjes",
                          "bitten", "anliegen", "wuensche", "things"})


def _asked_items(clauses: list[Clause], lines: list[str]) -> None:
    """Marks the items of lists; and 'Two requests please:' then '- a new activation code' and '- this invoice
    again as PDF': each item of a list that a line ending in ':' asks for is asked, though it has no verb."""
    asking = False
    for number, line in enumerate(lines):
        mine = [c for c in clauses if c.line == number]
        for clause in mine if _BULLET.match(line) else ():
            clause.item = True
        if asking and mine and _BULLET.match(line):
            mine[0].tokens[0].tags.add(Cue.REQUEST)
            continue
        words = {t.text for c in mine for t in c.tokens}
        asking = line.rstrip().endswith(":") and bool(words & _ASKED_BELOW or any(c.tags() & SIGNAL for c in mine))


# a short run of words in quotation marks: the label of a link or a button, a message shown, a word named
_QUOTED = re.compile(r"[«“„\"]([^«»“”„\"\n]{1,80})[»”“\"]")
_KEPT_IN_QUOTES = frozenset({Cue.NUMBER, Cue.CUSTOMER, Cue.URL, Cue.EMAIL})


def _quoted(clauses: list[Clause], text: str) -> None:
    """'le lien « Ne plus recevoir ces notifications »', 'the "Stop these mails" link': words in quotes name
    something, they ask nothing; numbers in them stay numbers."""
    spans = [m.span(1) for m in _QUOTED.finditer(text)]
    if not spans:
        return
    before: Token | None = None
    for token in (t for c in clauses for t in c.tokens):
        inside = any(start <= token.start < end for start, end in spans)
        if inside:
            token.tags &= _KEPT_IN_QUOTES
        if inside and before is not None and before.end <= token.start and Cue.MAIL in before.tags:
            before.tags.discard(Cue.MAIL)  # 'un message « lien expiré »': a message shown, not a mail
        before = None if inside else token


def _continues(previous: str, line: str) -> bool:
    """A line a client wrapped: the one before is long and unfinished, this one goes on in lower case."""
    tail = previous.rstrip()
    head = line.lstrip()
    return len(tail) > 50 and tail[-1:] not in ".!?;:" and head[:1].islower()


def _line_clauses(text: str, line: tuple[int, int], number: int) -> list[Clause]:
    clauses: list[Clause] = []
    current: list[Token] = []
    sentence, opened = number * 100, 0
    scanned = list(_scanned(text[line[0]:line[1]], line[0]))
    for index, (kind, token) in enumerate(scanned):
        if token is not None:
            current.append(token)
            continue
        if kind == "abbreviation" and current and (_abbreviated(current[-1])
                                                   or _ordinal(current[-1], scanned[index + 1:index + 2])
                                                   or _dotted(current, scanned[index + 1:index + 2], text)):
            continue
        if current:
            clauses.append(Clause(current, sentence, number))
            current = []
        if kind != "pause":  # a full stop that was no abbreviation's ends the sentence like any
            for clause in clauses[opened:]:
                clause.question = kind == "question"
                clause.exclaimed = kind == "exclamation"
            sentence, opened = sentence + 1, len(clauses)
    if current:
        clauses.append(Clause(current, sentence, number))
    return clauses


def _ordinal(before: Token, after: list[tuple[str, Token | None]]) -> bool:
    """'am 2. November', 'bis 30.10.': a German ordinal's or a date's full stop, not a sentence's."""
    following = after[0][1] if after else None
    return (before.text.isdigit() and len(before.text) <= 2 and following is not None
            and (following.text.isdigit() or following.text in MONTHS))


def _abbreviated(token: Token) -> bool:
    """'no.', 'Tel.', and the numbers' marks of compounds: 'Kundennr.', 'klantnr.', 'Rechnungsnr.'."""
    return token.text in _ABBREVIATIONS or token.text.endswith("nr")


def _dotted(current: list[Token], after: list[tuple[str, Token | None]], text: str) -> bool:
    """'i.p.v.', 'z.B.', 'a.u.b.': single letters each followed by a full stop are one abbreviation."""
    last = current[-1]
    if len(last.text) != 1 or not last.text.isalpha():
        return False
    following = after[0][1] if after else None
    if following is not None and len(following.text) == 1 and following.text.isalpha():
        return True
    return len(current) > 1 and len(current[-2].text) == 1 and text[current[-2].end:last.start] == "."


def _scanned(text: str, offset: int) -> Iterator[tuple[str, Token | None]]:
    """Tokens, and the marks that end sentences ("stop", "question") and clauses ("pause")."""
    for m in _SCANNER.finditer(text):
        kind = m.lastgroup or "word"
        if kind == "stop":
            mark = m.group(0)
            kind = "question" if "?" in mark else "exclamation" if "!" in mark else "stop"
            yield ("abbreviation" if mark == "." else kind), None
        elif kind == "pause":
            yield "pause", None
        else:
            yield "token", _token(kind, m, offset)


def _token(kind: str, m: re.Match[str], offset: int) -> Token:
    written = m.group(0)
    token = Token(fold(written), m.start() + offset, m.end() + offset,
                  capitalized=written[:1].isupper() and not written.isupper())
    if kind == "url":
        token.tags = {Cue.URL, Cue.LINK}
    elif kind == "email":
        token.tags = {Cue.EMAIL}
    elif kind == "number":
        token.value = normalize_document_number(written)
        token.tags = {Cue.CUSTOMER} if _CUSTOMER_NUMBER.fullmatch(token.value) else {Cue.NUMBER}
    elif kind == "digits":
        token.value = written  # a document number only after "facture", "n°", "invoice no."…
    return token


def _at_contrast(clause: Clause) -> list[Clause]:
    """'…, but I don't need the paper one': 'but' opens a clause of its own. After a pause it turns to something
    else; inside a clause it may be a particle ('Ich möchte aber sofort informiert werden')."""
    parts: list[Clause] = []
    current: list[Token] = []
    for token in clause.tokens:
        if token.text in CONTRAST and current:
            parts.append(_part(clause, current, not parts))
            current = []
        current.append(token)
    parts.append(_part(clause, current, not parts))
    return parts


# 'I activated my account in spring but I can't remember how I got in': these turn wherever they stand; German
# 'aber' and Dutch 'maar' are particles too ('stuur maar door')
_TURNS_ANYWHERE = frozenset({"but", "mais", "however", "cependant", "toutefois"})


def _part(clause: Clause, tokens: list[Token], first: bool) -> Clause:
    turn = (first or tokens[0].text in _TURNS_ANYWHERE) and tokens[0].text in CONTRAST
    return Clause(tokens, clause.sentence, clause.line, clause.question, clause.exclaimed, turn, clause.item)


_COORDINATORS = frozenset({"und", "and", "et", "en", "sowie", "evenals", "alsook"})
# 'a sign-in link plus a copy of…'; French 'plus' is 'more' or 'no more' ('un lien plus récent')
_PLUS_BEFORE = frozenset({"a", "an", "the", "one", "another"})
# What does something: a clause with one on each side of "und" asks two things
_DOINGS = frozenset({Cue.SEND, Cue.GET, Cue.PREFER, "stop-verb", "unsubscribe", "remove-me", "remove"})
_ASKING = frozenset({Cue.REQUEST, Cue.MODAL, Cue.WANT})


def _at_coordination(clause: Clause) -> list[Clause]:
    """'Bitte schicken Sie mir die Rechnung noch einmal und stellen Sie die Benachrichtigungen auf monatlich
    um': two requests, each read on its own; the second keeps the words that asked ('bitte'). 'bitte schicken
    Sie mir einen Anmeldelink und zusätzlich eine Kopie der Gutschrift': the second has no verb of its own and
    is asked with the first one's."""
    tokens = clause.tokens
    for index, token in enumerate(tokens[1:-1], start=1):
        before, after = tokens[:index], tokens[index + 1:]
        if not _coordinates(token, after):
            continue
        if _final_verb(before, after):
            before = before + _carried(after, before)
        if _does(before) and _does(after) or _elliptic(before, after):
            first = Clause(before, clause.sentence, clause.line, clause.question, clause.exclaimed)
            rest = Clause(_carried(before, after) + after, clause.sentence, clause.line, clause.question,
                          clause.exclaimed)
            return [first, *_at_coordination(rest)]
    return [clause]


def _coordinates(token: Token, after: list[Token]) -> bool:
    return token.text in _COORDINATORS or token.text == "plus" and after[0].text in _PLUS_BEFORE


def _does(tokens: list[Token]) -> bool:
    return any(t.tags & _DOINGS for t in tokens)


# What a request is about, by kind: after 'and', a thing of another kind than the one asked for is asked too
_KINDS = (frozenset({Cue.NUMBER, "copy"}), frozenset({Cue.LINK, "login", "activation", "password"}),
          frozenset({Cue.SUMMARY, "immediate", "daily", "weekly", "monthly"}))
_DENIALS = frozenset({Cue.NEGATION, Cue.WHY, Cue.HYPOTHESIS, Cue.THANKS, Cue.CANCEL, Cue.KEEP, Cue.PAST})


def _kinds(tokens: list[Token]) -> set[int]:
    return {index for index, kind in enumerate(_KINDS) if any(t.tags & kind for t in tokens)}


def _elliptic(before: list[Token], after: list[Token]) -> bool:
    """'…a link to sign in, and also a copy of C2026-0003': no verb after 'and', an object of another kind than
    what the asking words before it were about, and nothing before that denies or tells rather than asks."""
    if _does(after) or any(t.tags & _DENIALS for t in before):
        return False
    asked = _does(before) or any(t.tags & _ASKING for t in before)
    kinds = _kinds(before)
    return asked and bool(kinds) and bool(_kinds(after) - kinds)


def _final_verb(before: list[Token], after: list[Token]) -> bool:
    """'Bitte einen Anmeldelink und dazu eine Kopie der Gutschrift C2026-0014 schicken': the verb at the end
    does both; the first request, without a verb of its own, gets it."""
    return not _does(before) and _elliptic(after, before)


def _carried(before: list[Token], after: list[Token]) -> list[Token]:
    """Copies of the words that ask (and, for a clause without a verb, the verb) for the request after 'and'."""
    if _does(after):
        chosen = [t for t in before if t.tags & _ASKING and not t.tags & _DOINGS]
    else:
        chosen = [t for t in before if t.tags & (_ASKING | _DOINGS)]
    return [replace(t, tags=set(t.tags)) for t in chosen]


def _elliptic_clauses(clauses: list[Clause]) -> list[Clause]:
    """'Can you send me a link to sign in, and also a copy of C2026-0003?': a clause opening with 'and' after a
    pause goes on with the request of the clause before it."""
    for previous, clause in zip(clauses, clauses[1:]):
        tokens = clause.tokens
        if (clause.sentence == previous.sentence and tokens[0].text in _COORDINATORS
                and _elliptic(previous.tokens, tokens[1:])):
            clause.tokens = _carried(previous.tokens, tokens[1:]) + tokens
    return clauses


def _lists_joined(clauses: list[Clause]) -> list[Clause]:
    """'F2026-0042, F2026-0043 and F2026-0044': a clause of numbers alone goes on the one before it."""
    joined: list[Clause] = []
    for clause in clauses:
        if joined and joined[-1].sentence == clause.sentence and (_only_numbers(clause)
                                                                  or _list_goes_on(joined[-1], clause)):
            joined[-1] = joined[-1].joined(clause)
        else:
            joined.append(clause)
    return joined


def _list_goes_on(before: Clause, clause: Clause) -> bool:
    """'…die Rechnungen F2026-0042, F2026-0043 und F2026-0044 nochmal zu': a clause that opens with a number
    after one that ends with a number goes on with its list (and its verb)."""
    return Cue.NUMBER in before.tokens[-1].tags and Cue.NUMBER in clause.tokens[0].tags


def _only_numbers(clause: Clause) -> bool:
    return any(Cue.NUMBER in t.tags for t in clause.tokens) and all(
        Cue.NUMBER in t.tags or t.text in _LIST_WORDS or t.tags <= _SIGN_OFF and t.tags for t in clause.tokens)


def _before_signature(clauses: list[Clause]) -> list[Clause]:
    """Everything before the signature, and any postscript after it: a line of sign-off words ("Kind regards")
    starts the signature, and so does a line that is a name ("Marie Dupont", "Jan") once something was said."""
    kept: list[Clause] = []
    said = signed = False
    for line in _by_line(clauses):
        if signed and not _postscript(line):
            continue
        signed = _signs_off(line) or said and _is_name(line)
        if not signed:
            said = said or any(t.tags - _SIGN_OFF or not t.tags for t in _tokens(line))
            kept.extend(line)
    return kept


_POSTSCRIPT = (("ps",), ("pps",), ("p", "s"), ("nb",), ("n", "b"))


def _postscript(line: list[Clause]) -> bool:
    """A "PS:" below the signature is written by the sender too, and often holds the request itself."""
    words = tuple(t.text for t in _tokens(line)[:2])
    return any(words[:len(marker)] == marker for marker in _POSTSCRIPT)


def _by_line(clauses: list[Clause]) -> list[list[Clause]]:
    lines: dict[int, list[Clause]] = {}
    for clause in clauses:
        lines.setdefault(clause.line, []).append(clause)
    return list(lines.values())


def _tokens(line: list[Clause]) -> list[Token]:
    return [t for clause in line for t in clause.tokens]


def _signs_off(line: list[Clause]) -> bool:
    tokens = _tokens(line)
    return any(Cue.CLOSING in t.tags for t in tokens) and all(t.tags & _SIGN_OFF for t in tokens)


def _is_name(line: list[Clause]) -> bool:
    """One to four capitalized words that are nothing else: "Marie Dupont", "Garage Dupont SRL", "K. Patel"."""
    words = [t for t in _tokens(line) if t.text.isalpha() and len(t.text) > 1]
    return 0 < len(words) <= 4 and all(t.capitalized and not t.tags and t.text not in FUNCTION_WORDS
                                       for t in words)


# --- tagging ------------------------------------------------------------------------------------------------

def _phrases(clause: Clause, lex: Lexicon) -> None:
    """Words → cue tags: phrases first (longest), then words with their stems, then one-letter typos."""
    merged: list[Token] = []
    index = 0
    while index < len(clause.tokens):
        index += _phrase_at(clause.tokens, index, lex, merged)
    clause.tokens = merged


def _readings(clause: Clause) -> None:
    """What words mean where they stand: bare digits after "facture"/"n°" become document numbers, numbers
    after "client" customer numbers; separable verbs; a condition that asks."""
    _tag_numbers(clause.tokens)
    _separable(clause.tokens)
    _ability(clause.tokens)
    _polite_conditional(clause.tokens)
    _wished(clause.tokens)
    _came(clause.tokens)
    _restrictive(clause.tokens)
    _not_found(clause.tokens)
    _purpose(clause.tokens)


def _in_language(clauses: list[Clause]) -> None:
    """A word of two languages means what it means in the language of the message: German 'was' asks (what),
    English 'was' tells; Dutch 'als' is a condition. Only when the message's language has the word at all."""
    counts = Counter(lang for c in clauses for t in c.tokens if len(t.languages) == 1 and "typo" not in t.tags
                     for lang in t.languages)
    ranked = counts.most_common(2)
    if not ranked or len(ranked) > 1 and ranked[1][1] * 2 > ranked[0][1]:
        return  # no clear language: every reading stays
    language = ranked[0][0]
    for token in (t for c in clauses for t in c.tokens):
        if language not in token.languages and token.languages and ("typo" in token.tags or _short(token)):
            # a typo is of the message's language, and so is a short word ("we're" is not French "re")
            token.tags, token.languages, token.by_language = set(), set(), {}
        elif len(token.languages) > 1 and language in token.languages:
            others = set().union(*(tags for lang, tags in token.by_language.items() if lang != language))
            token.tags -= others - token.by_language[language]
            token.languages = {language}


def _phrase_at(tokens: list[Token], index: int, lex: Lexicon, out: list[Token]) -> int:
    token = tokens[index]
    if token.tags or token.value:  # URLs, addresses and numbers are what they are
        out.append(token)
        return 1
    for entry in lex.starting(token.text):
        size = len(entry.words)
        if tuple(t.text for t in tokens[index:index + size]) == entry.words:
            same = [e for e in lex.starting(token.text) if e.words == entry.words]
            out.append(_merged(tokens[index:index + size], same, lex))
            return size
    out.append(_merged([token], _typo(token.text, lex), lex))
    return 1


def _merged(tokens: list[Token], entries: list[Entry], lex: Lexicon) -> Token:
    """One token for a phrase (or a word), with every tag its forms have; a word's stems count too:
    'aktivierungslink' is an activation and a link."""
    text = " ".join(t.text for t in tokens)
    stems = lex.stems(text) if len(tokens) == 1 else []
    found = entries + stems
    tags = {e.tag for e in found} | ({"typo"} if entries and entries[0].words[0] != tokens[0].text else set())
    by_language: dict[str, set[str]] = {}
    for entry in found:
        by_language.setdefault(entry.language, set()).add(entry.tag)
    heads = {e.tag for e in found if e.stem != "prefix"}
    modifiers = {e.tag for e in found if e.stem == "prefix"} - heads if heads else set()
    return Token(text, tokens[0].start, tokens[-1].end, tags, set(by_language), by_language,
                 capitalized=tokens[0].capitalized, modifiers=modifiers)


def _typo(word: str, lex: Lexicon) -> list[Entry]:
    """'duplicta', 'hebdomadiare': the entries of the one word this is a typo of, if any."""
    known = lex.corrected(word)
    return [e for e in lex.starting(known) if e.words == (known,)] if known else []


def _tag_numbers(tokens: list[Token]) -> None:
    for index, token in enumerate(tokens):
        before = tokens[index - 1] if index else None
        tags = before.tags if before else set()
        if token.value and Cue.NUMBER not in token.tags and tags & {Cue.DOCUMENT, Cue.NUMBER_MARK}:
            token.tags.add(Cue.NUMBER)
        if Cue.NUMBER in token.tags and _after_customer_word(tokens[max(0, index - 2):index]):
            token.tags = {Cue.CUSTOMER}
        if Cue.NUMBER in token.tags and before is not None and Cue.NUMBER_MARK in tags:
            before.tags.discard(Cue.NEGATION)  # "invoice no. F2026-0042": a number's mark, not a "no"


def _after_customer_word(before: list[Token]) -> bool:
    """'client DL5765432', 'customer no. DL8800456', 'Kunden-Nr. DL…': a customer word, perhaps with a mark."""
    if before and Cue.CUSTOMER in before[-1].tags and not before[-1].value:  # 'DL2311450 / F2026-0034': a pair
        return True
    return (len(before) == 2 and Cue.CUSTOMER in before[0].tags and not before[0].value
            and Cue.NUMBER_MARK in before[1].tags)


_PARTICLE_REACH = 8  # words between a separable verb and its particle ("meld me graag af voor…")


def _separable(tokens: list[Token]) -> None:
    """'melden Sie mich bitte ab', 'stuur me de factuur eens door': the verb gets its meaning from the particle
    that follows it in the clause."""
    for index, token in enumerate(tokens):
        after = {t.text for t in tokens[index + 1:index + 1 + _PARTICLE_REACH]}
        verb = token.text.split(" ")[0]  # "vraag ik … op": the verb may open a phrase
        token.tags.update(tag for (form, particle), tag in SEPARABLE.items() if form == verb and particle in after)


def _ability(tokens: list[Token]) -> None:
    """'Kann ich eine Kopie bekommen?', 'Can we switch to weekly?', 'Mag ik nog een exemplaar?' ask us for
    something; 'Kann ich die Benachrichtigungen irgendwo selbst einstellen?' asks what one may do oneself."""
    oneself = any(Cue.SELF in t.tags for t in tokens)
    for token in tokens:
        if Cue.ABILITY in token.tags and oneself:
            token.tags.discard(Cue.MODAL)
        elif Cue.ABILITY in token.tags:
            token.tags.add(Cue.MODAL)


def _wished(tokens: list[Token]) -> None:
    """'Ik ontvang liever een maandelijkse samenvatting': what one would rather get is a wish, not how it is."""
    if any(t.tags & (SIGNAL | {Cue.PREFER}) for t in tokens):
        for token in tokens:
            token.tags.discard(Cue.CURRENT)


def _short(token: Token) -> bool:
    return " " not in token.text and len(token.text) <= 3


def _polite_conditional(tokens: list[Token]) -> None:
    """'If you could send…', 'wenn Sie … könnten': a condition that asks is a request, not a hypothesis. One
    about what happened asks nothing: 'Si vous avez reçu une demande de désabonnement' is no request of one."""
    if asks_politely({tag for t in tokens for tag in t.tags}):
        for token in tokens:
            token.tags.discard(Cue.HYPOTHESIS)


def _came(tokens: list[Token]) -> None:
    """'Duplikat erhalten, herzlichen Dank!': 'erhalten', 'ontvangen' without a word that asks tell what came."""
    if not any(t.tags & SIGNAL for t in tokens):
        for token in tokens:
            if Cue.RECEIVED in token.tags:
                token.tags.discard(Cue.GET)


_NE = frozenset({"ne", "n"})
_QUE = frozenset({"que", "qu"})
_TRUE_NEGATIONS = frozenset({"pas", "jamais", "rien", "aucun", "aucune", "personne"})


def _restrictive(tokens: list[Token]) -> None:
    """French 'ne … que' is 'only' ("ne les recevoir qu'une fois par mois"), not a negation; 'ne … pas que'
    still denies."""
    for index, token in enumerate(tokens):
        if token.text.split(" ")[0] not in _NE or Cue.NEGATION not in token.tags:
            continue
        rest = [t.text for t in tokens[index + 1:]]
        que = next((i for i, word in enumerate(rest) if word in _QUE), None)
        if que is not None and not _TRUE_NEGATIONS & set(rest[:que]):
            token.tags.discard(Cue.NEGATION)
            token.tags.add(Cue.ONLY)


_FIND_REACH = 2  # words between 'find' and its negation: "ik vind hem nergens", "je ne la trouve pas"


def _not_found(tokens: list[Token]) -> None:
    """'ik vind hem nergens', 'je ne la trouve pas': a document lost, the reason of a request, not a refusal.
    A button or a link not found ('Ich finde keinen Button') is a way in looked for: left as it is."""
    if any(Cue.LINK in t.tags for t in tokens):
        return
    for index, token in enumerate(tokens):
        if Cue.FIND not in token.tags:
            continue
        near = range(max(0, index - _FIND_REACH - 1), min(len(tokens), index + _FIND_REACH + 2))
        for other in (i for i in near if Cue.NEGATION in tokens[i].tags and not _judged(tokens[i + 1:i + 2])):
            tokens[other].tags.discard(Cue.NEGATION)
            tokens[other].tags.add(Cue.NEVER_GOT)


def _judged(after: list[Token]) -> bool:
    """'Ich finde es nicht gut', 'je ne trouve pas normal': finding as judging, a word of its own follows."""
    return bool(after) and not after[0].tags and not after[0].value and after[0].text not in FUNCTION_WORDS


_PURPOSES = frozenset({"voor", "pour", "for", "fuer", "fur"})


def _purpose(tokens: list[Token]) -> None:
    """'een kopie van F2026-0042 voor onze boekhouder': a copy for the accountant is still sent to the person;
    only a document's copy: 'stop the notifications for my colleague' is about someone else."""
    if not any(t.tags & {Cue.NUMBER, Cue.DOCUMENT, "copy"} for t in tokens):
        return
    for before, token in zip(tokens, tokens[1:]):
        if Cue.ELSEWHERE in token.tags and before.text in _PURPOSES:
            token.tags.discard(Cue.ELSEWHERE)
