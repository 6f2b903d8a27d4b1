"""Read the requests in what a person wrote (subject and trimmed reply), each with its confidence and the words
that made it, and note the sentences that looked like requests and why they were not taken for one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from itertools import islice, takewhile

from mailflow.inbound import lexicon
from mailflow.inbound.clauses import Clause, Token, clauses_of, normalize_document_number
from mailflow.inbound.commands import COMMANDS, Command, CommandName, Takes, command_words
from mailflow.inbound.lexicon import (COUNTS, FUNCTION_WORDS, GENERIC_VETOES, INFINITIVE_MARKS, RELATIVES, SIGNAL,
                                      SUBJECT_PRONOUNS, SUBORDINATORS, WORDS, Cue, Lexicon, Rule, asks_politely)
from mailflow.inbound.ours import is_our_text
from mailflow.inbound.subjects import has_reply_prefix, strip_subject_prefixes

__all__ = ["ACT", "ASK", "Decision", "Intent", "Note", "Reading", "Span", "normalize_document_number",
           "read_requests"]

ACT = 0.8  # at least this sure: carried out
ASK = 0.55  # at least this sure: asked back ("Did you mean …?"); below, staff read it
# What people ask for is at the top of what they typed: reading further only costs time (a pasted log, a
# 20 MB message). Staff still see the whole reply.
READ_CHARACTERS = 6000
READ_SUBJECT = 300


class Decision(StrEnum):
    ACT = "act"
    ASK = "ask"


@dataclass(frozen=True)
class Span:
    """Words of the message that made a reading: where they are, and what they were read as."""

    source: str  # "subject" | "body"
    start: int
    end: int
    text: str
    cue: str


@dataclass(frozen=True)
class Intent:
    """One request read from a message."""

    name: CommandName
    args: tuple[str, ...]
    confidence: float
    rule: str  # "<command>.<rule>"
    spans: tuple[Span, ...] = ()
    source: str = "body"
    language: str | None = None
    customer: str | None = None  # a customer number written as such ("client DL5765432")

    @property
    def decision(self) -> Decision:
        return Decision.ACT if self.confidence >= ACT else Decision.ASK

    def as_json(self) -> dict[str, object]:
        return {"name": str(self.name), "args": list(self.args), "confidence": self.confidence,
                "decision": str(self.decision), "rule": self.rule, "source": self.source,
                "language": self.language, "customer": self.customer,
                "words": [{"text": s.text, "cue": s.cue, "source": s.source, "start": s.start, "end": s.end}
                          for s in self.spans]}


@dataclass(frozen=True)
class Note:
    """Words that looked like a request and were not taken for one, and why (for staff)."""

    reason: str
    text: str
    source: str = "body"

    def as_json(self) -> dict[str, str]:
        return {"reason": self.reason, "text": self.text, "source": self.source}


@dataclass
class Reading:
    intents: list[Intent] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def remarks(self) -> list[Note]:
        """Questions and complaints that no request answers: a person should read them even when a command ran."""
        return [n for n in self.notes if n.reason.startswith(_NEEDS_A_PERSON)]


_NEEDS_A_PERSON = ("why-question", "complaint", "question about")


@lru_cache(maxsize=1)
def the_lexicon() -> Lexicon:
    """Shared cue words and every command's own, built once; typos are forgiven on content words."""
    own = [tag for tag, _ in command_words()]
    fuzzy = {Cue.SEND, Cue.DOCUMENT, Cue.MAIL, Cue.SUMMARY, Cue.LINK, Cue.EXPIRED, Cue.AGAIN, Cue.REQUEST, *own}
    return lexicon.build([*WORDS.items(), *command_words()], fuzzy)


# --- the whole message --------------------------------------------------------------------------------------

@dataclass
class Context:
    """What a clause's rules may look at beyond the clause: the message's other clauses and the subject."""

    clauses: list[Clause]
    subject: list[Clause]
    source: str
    text: str
    answered: tuple[str, ...] = ()  # the document of our mail this answers, when the subject does not name it

    @cached_property
    def written(self) -> set[str]:
        """Everything the person wrote names: what the message is not about is what they did not write."""
        return {tag for clause in self.clauses for tag in clause.tags()}

    @cached_property
    def beside(self) -> dict[str, str]:
        """Document number → the customer number written on its line."""
        return _customers_beside(self.clauses)

    @cached_property
    def sole_customer(self) -> str | None:
        """The customer number of a message that writes one only ('Customer no.: DL2876543' above the invoice
        asked for, 'Notre numéro de client est le DL2406173' below the list): the one of every document asked."""
        found = {n for c in self.clauses for n in map(_customer_number, c.tokens) if n}
        return found.pop() if len(found) == 1 else None

    @cached_property
    def about(self) -> set[str]:
        """What the message and the subject of the mail it answers name: what it may be about."""
        return self.written | {tag for clause in self.subject for tag in clause.tags()}


def read_requests(subject: str, reply_text: str, echo: bool = False, answered: tuple[str, ...] = ()) -> Reading:
    """Every request in a message: from its subject (unless it only repeats the subject of our mail it
    answers, `echo`) and its trimmed reply. Quoted text is the trimmer's to remove; signatures are left out.
    `answered` names the document of the mail it answers: "send me this invoice again" is about it."""
    lex = the_lexicon()
    title = strip_subject_prefixes((subject or "")[:READ_SUBJECT])
    reply_text = (reply_text or "")[:READ_CHARACTERS]
    # the subject of our mail answered ("…: activate your account") says what "it" is even when not read as asking
    heading = clauses_of(title, lex, signature=False, ours=True)
    reading = Reading()
    if not (echo or has_reply_prefix(subject or "") and is_our_text(title, whole=True)):
        _read(Context(heading, [], "subject", title), reading)
    body = clauses_of(reply_text or "", lex)
    _read(Context(body, heading, "body", reply_text or "", tuple(answered)), reading)
    intents = _fewer_not_none(_one_frequency(_unique(reading.intents)))
    reading.intents = _cautious(_withdrawn(_denied(intents, reading), body), reading)
    return reading


_MIXED_CEILING = 0.7  # asked back, not acted on


def _asked_back(intent: Intent) -> Intent:
    return replace(intent, confidence=min(intent.confidence, _MIXED_CEILING))


def _denied(intents: list[Intent], reading: Reading) -> list[Intent]:
    """A request the same message also denies ('… je ne souhaite pas du tout me désabonner') is asked back: one
    of the two readings is wrong, and doing nothing wrong comes first."""
    denied = {n.reason.split(" ")[3] for n in reading.notes if n.reason.startswith("negation: not ")}
    return [_asked_back(i) if str(i.name) in denied else i for i in intents]


def _withdrawn(intents: list[Intent], body: list[Clause]) -> list[Intent]:
    """'Oubliez ma demande' under the subject 'RE: duplicata': the subject was the request withdrawn, so it is
    not read; anything else the message asks is asked back."""
    if not any(Cue.CANCEL in clause.tags() for clause in body):
        return intents
    return [_asked_back(i) for i in intents if i.source != "subject"]


def _fewer_not_none(intents: list[Intent]) -> list[Intent]:
    """'No more single emails please, a weekly digest is enough': a rhythm asked with 'no more mails' wants fewer
    mails, not none. Said in words, the stop goes; a STOP keyword beside a rhythm is asked back."""
    if not any(i.name is CommandName.FREQUENCY for i in intents):
        return intents
    return [_asked_back(i) if i.name is CommandName.STOP else i for i in intents
            if i.name is not CommandName.STOP or i.rule.endswith(".keyword")]


def _one_frequency(intents: list[Intent]) -> list[Intent]:
    """One frequency at a time: the surest reading; two as sure of different values are asked back."""
    asked = [i for i in intents if i.name is CommandName.FREQUENCY]
    if len({i.args for i in asked}) < 2:
        return intents
    best = max(asked, key=lambda i: i.confidence)
    rivals = {i.args for i in asked if i.confidence == best.confidence}
    chosen = best if len(rivals) == 1 else _asked_back(best)
    return [chosen if i is best else i for i in intents if i.name is not CommandName.FREQUENCY or i is best]


def _cautious(intents: list[Intent], reading: Reading) -> list[Intent]:
    """Beside a complaint or a question, only a clearly worded request is acted on: 'Stop!' before 'this
    invoice was booked twice' is a cry, not a command. The others are asked back."""
    if not reading.remarks:
        return intents
    kept = []
    for intent in intents:
        if intent.confidence < 0.9 or intent.rule.endswith(".keyword"):
            intent = replace(intent, confidence=min(intent.confidence, _MIXED_CEILING))
        kept.append(intent)
    return kept


def _read(ctx: Context, reading: Reading) -> None:
    for index, clause in enumerate(ctx.clauses):
        _mark_positions(clause, _asked_elsewhere(index, ctx), _denied_before(index, ctx))
        found, notes = [], []
        for command in COMMANDS.values():
            intent, note = _best(command, index, ctx)
            if intent is not None:
                found.extend(_each_document(intent, ctx))
            elif note is not None:
                notes.append(note)
        remark = _remark(clause)
        if not found and remark and not any(n.reason.startswith(_NEEDS_A_PERSON) for n in notes):
            notes.append(Note(remark, _text(clause, ctx), ctx.source))
        reading.intents.extend(found)
        reading.notes.extend(n for n in notes if not found and n not in reading.notes)


def _best(command: Command, index: int, ctx: Context) -> tuple[Intent | None, Note | None]:
    """The clause's reading for one command; failing that, the clause with what follows it in its sentence."""
    intent, note = _intent(command, ctx.clauses[index], index, ctx)
    for joined in _continued(index, ctx) if intent is None else ():
        intent, _ = _intent(command, joined, index, ctx)
        if intent is not None:
            break
    return intent, note


def _continued(index: int, ctx: Context) -> Iterator[Clause]:
    """The clause with the next one of its sentence ("Hören Sie bitte auf, mir diese Mails zu schicken"); then,
    past the clauses set inside the sentence, with the one that goes on with it ("Können Sie mir die Rechnung,
    die ich nicht mehr finde, nochmal schicken?": the verb is far from what it asks for)."""
    clause = ctx.clauses[index]
    rest = list(takewhile(lambda c: c.sentence == clause.sentence, islice(ctx.clauses, index + 1, None)))
    # '…, but …' goes on to something else; '…, or do we need the original?' asks between two things
    rest = list(takewhile(lambda c: not c.turn and not _alternative(c), rest))
    if rest:
        yield _joined(clause, rest[0])
    inserted = list(takewhile(_inserted, rest))
    if inserted and len(inserted) < len(rest):
        yield _joined(clause, rest[len(inserted)])


_OR = frozenset({"or", "ou", "of", "oder"})


def _alternative(clause: Clause) -> bool:
    return clause.question and bool(clause.tokens) and clause.tokens[0].text in _OR


def _joined(clause: Clause, following: Clause) -> Clause:
    """The two clauses as one, on copies of their words: what their places mean together (a statement, an
    imperative) must not change what the clause alone says when other commands read it."""
    joined = clause.joined(following)
    joined.tokens = [replace(t, tags=set(t.tags)) for t in joined.tokens]
    _mark_positions(joined)
    return joined


def _inserted(clause: Clause) -> bool:
    """A clause set inside a sentence: a relative one ("die ich nicht mehr finde", "that I can't find"), a
    reason or condition ("weil ich sie gelöscht habe", "si possible") or a customer number in brackets
    ("die Rechnung F2026-0146 (Kundennr. DL5765432) nochmals zusenden")."""
    words = [t.text for t in clause.tokens]
    return bool(words) and (words[0] in SUBORDINATORS
                            or words[0] in RELATIVES and len(words) > 1 and words[1] in SUBJECT_PRONOUNS
                            or all(t.tags & {Cue.CUSTOMER, Cue.NUMBER_MARK} for t in clause.tokens))


# --- where words stand --------------------------------------------------------------------------------------

_LEADING = {Cue.GREETING, Cue.REQUEST, Cue.CLOSING}
_OPENERS = {Cue.SEND, "stop-verb", "unsubscribe", "remove-me"}
_ASKS = {Cue.REQUEST, Cue.MODAL, Cue.WANT}
_PLACED = {Cue.IMPERATIVE, Cue.QUESTION_FORM, Cue.STATEMENT, Cue.DENIED}


def _asked_elsewhere(index: int, ctx: Context) -> bool:
    """'Ist es möglich, das monatlich zu bekommen statt jedes Mal einzeln?', 'Ik kan de bijlage niet openen,
    mogen jullie ze opnieuw sturen?': another clause of the sentence asks, so its question mark is the
    request's, not this clause's."""
    clause = ctx.clauses[index]
    return any(c.sentence == clause.sentence and c.tags() & SIGNAL for i, c in enumerate(ctx.clauses) if i != index)


_DENIALS = {Cue.NEGATION, Cue.COMPLAINT, Cue.WHY}


def _denied_before(index: int, ctx: Context) -> bool:
    """'Ich finde es nicht gut, jeden Tag eine Mail zu bekommen': an infinitive clause with no asking word of its
    own is what the clause before it denies or complains about."""
    clause = ctx.clauses[index]
    if not index or ctx.clauses[index - 1].sentence != clause.sentence or clause.tags() & SIGNAL:
        return False
    infinitive = clause.tokens[0].text in INFINITIVE_MARKS or any(t.text == "zu" for t in clause.tokens[-3:])
    return infinitive and bool(ctx.clauses[index - 1].tags() & _DENIALS)


def _mark_positions(clause: Clause, asked: bool = False, denied: bool = False) -> None:
    """Tags that depend on where words stand: an opening verb asks; a question or a past tense tells; a clause
    governed by a denial before it is denied."""
    for token in clause.tokens:
        token.tags -= _PLACED
    if denied:
        clause.tokens[-1].tags.add(Cue.DENIED)
    content = [t for t in clause.tokens if not t.tags & _LEADING]
    if content and content[0].tags & _OPENERS:
        content[0].tags.add(Cue.IMPERATIVE)
    tags = clause.tags()
    if tags & SIGNAL:
        return
    opens_with_question = bool(content and content[0].tags & {Cue.QUESTION, Cue.WHY})
    if clause.question and not asked or opens_with_question:
        clause.tokens[-1].tags.add(Cue.QUESTION_FORM)
    if Cue.PAST in tags and not tags & {Cue.NEVER_GOT}:
        clause.tokens[-1].tags.add(Cue.STATEMENT)


def _unknown_words(clause: Clause) -> list[Token]:
    """Words that are no cue and no small word: something else the clause is about."""
    return [t for t in clause.tokens if not t.tags and not t.value and len(t.text) > 2
            and t.text not in FUNCTION_WORDS]


# Things a request can be about; a clause naming none of them ("could you send it again?") is about the
# nearest thing named before it, or the mail it answers.
_DOCUMENTS = {Cue.NUMBER, Cue.DOCUMENT, "copy"}
_LINKS = {Cue.LINK, "activation", "login", "password"}
_ANSWERS = {"commands", "options"}  # what HELP sends: "is there a list of what I can ask? Please send it over."
_OBJECTS = _DOCUMENTS | _LINKS | _ANSWERS | {Cue.MAIL, Cue.OTHER_DOCUMENTS, Cue.SUMMARY, "code"}


def _names_nothing(clause: Clause) -> bool:
    return not clause.tags() & _OBJECTS and not _unknown_words(clause)


def _sent_by_mail(clause: Clause, index: int, ctx: Context) -> bool:
    """'…la facture F2026/0098 (client DL2318842). Savez-vous me l'envoyer par mail ?': right after a document
    named, 'par mail' is how it should come, not a thing asked for."""
    named = {tag for t in clause.tokens if "by-mail" not in t.tags for tag in t.tags} & _OBJECTS
    before = [c for c in ctx.clauses[:index] if not _customer_only(c)]
    return not named and not _unknown_words(clause) and bool(before) and bool(before[-1].numbers())


def _means_the_list(clause: Clause, index: int, ctx: Context) -> bool:
    """'Send it to me' right after asking what one can do by mail wants that list, not the invoice answered."""
    referent = _referent(index, ctx) if _names_nothing(clause) else set()
    return bool(referent & _ANSWERS) and not referent & _DOCUMENTS


def _referent(index: int, ctx: Context) -> set[str]:
    """What 'it' stands for: the tags of the nearest earlier clause naming something, else the subject's
    (an activation link before a document: the invitation's subject names both). An activation code named is
    the code, though its word speaks of activation too ('een activatiecode: kunnen jullie er ons één sturen')."""
    for earlier in reversed(ctx.clauses[:index]):
        named = earlier.tags() & _OBJECTS
        if named:
            return {"code"} if "code" in named else named
    subject = {tag for clause in ctx.subject for tag in clause.tags()}
    return subject & _LINKS or subject & _OBJECTS


# --- rules --------------------------------------------------------------------------------------------------

_KEYWORD_TAIL = {Cue.NUMBER, Cue.REQUEST, Cue.GREETING, Cue.CLOSING, Cue.DOCUMENT, Cue.NUMBER_MARK,
                 Cue.CUSTOMER, "copy", Cue.AGAIN, Cue.NEW, Cue.SUFFICE}
# ('One email per invoice suits us fine, don't change anything': how it is, and to stay so)
_KEYWORD_VETOES = frozenset({Cue.NEGATION, Cue.WHY, Cue.THANKS, Cue.STATEMENT, Cue.QUESTION, Cue.COMPLAINT,
                             Cue.HYPOTHESIS, Cue.NEVER_GOT, Cue.CANCEL, Cue.KEEP, Cue.DENIED})
# "Alors hebdomadaire svp", "dann bitte monatlich", "Doe dan maar maandelijks": the answer to a choice offered
_THEN = frozenset({"alors", "donc", "bon", "dann", "also", "dan", "doe", "maar", "then", "so", "ok", "okay", "oke"})
_MAX_OTHER_WORDS = 2  # "STOP please" is a command; "Stop by our office tomorrow" is a sentence


def _intent(command: Command, clause: Clause, index: int, ctx: Context) -> tuple[Intent | None, Note | None]:
    """The first rule of the command that the clause satisfies and that nothing vetoes."""
    note = None
    for rule in command.rules:
        scope = _sentence(clause, ctx) if rule.keyword else clause
        tokens = _matches(rule, command, scope, index, ctx)
        if tokens is None:
            continue
        veto = _veto(rule, command, scope)
        if veto is not None:
            note = note or Note(f"{_why(veto)}: not {command.name} ({rule.name})", _text(clause, ctx), ctx.source)
            continue
        found = _args(rule, command, scope, index, ctx)
        if found is None:
            note = note or Note(f"no {_missing(command)}: not {command.name} ({rule.name})", _text(clause, ctx),
                                ctx.source)
            continue
        return _interjection(_built(command, rule, scope, tokens, found, ctx), rule, scope, ctx), None
    return None, note


def _interjection(intent: Intent, rule: Rule, sentence: Clause, ctx: Context) -> Intent:
    """'Stop!', 'Hilfe!' in a message that goes on about something else is a cry more than a command, and
    'Hebdomadaire ?' may ask whether it can be had: both are asked back (a question for HELP is still HELP)."""
    said_more = any(c.sentence != sentence.sentence and _unknown_words(c) for c in ctx.clauses)
    asking = sentence.question and Cue.QUESTION_FORM not in rule.allows
    if rule.keyword and (sentence.exclaimed and said_more or asking):
        return replace(intent, confidence=min(intent.confidence, _MIXED_CEILING))
    return intent


def _sentence(clause: Clause, ctx: Context) -> Clause:
    parts = [c for c in ctx.clauses if c.sentence == clause.sentence]
    whole = parts[0]
    for part in parts[1:]:
        whole = whole.joined(part)
    return whole


def _matches(rule: Rule, command: Command, clause: Clause, index: int, ctx: Context) -> list[Token] | None:
    """The tokens that satisfy each of the rule's needs (and what it refers to), or None."""
    if not _on_topic(rule, ctx):
        return None
    if rule.keyword:
        return _keyword_line(rule, command, clause) or _keyword_clause(rule, command, index, ctx)
    found: list[Token] = []
    for group in rule.needs:
        hit = next((t for t in clause.tokens if t.tags & group), None)
        if hit is None:
            return None
        found.append(hit)
    if rule.refers and not (clause.tags() & rule.refers or _names_nothing(clause)
                            and _referent(index, ctx) & rule.refers):
        return None
    if command.takes is Takes.DOCUMENTS and _means_the_list(clause, index, ctx):
        return None
    if rule.plain and _unknown_words(clause):
        return None
    return found


def _on_topic(rule: Rule, ctx: Context) -> bool:
    """A link asked for is the kind of link the message is about (see Rule.topic)."""
    if rule.topic and not ctx.about & rule.topic:
        return False
    return not rule.off_topic & ctx.written


def _keyword_line(rule: Rule, command: Command, sentence: Clause) -> list[Token] | None:
    """The sentence opens with the command's word and says little else: 'STOP merci', 'Duplicata F… svp'."""
    content = [t for t in sentence.tokens if not t.tags & _LEADING and t.text not in _THEN]
    if not content or not content[0].tags & rule.needs[0]:
        return None
    rest = content[1:]
    if command.takes is not Takes.DOCUMENTS and any(t.tags & _DOCUMENTS for t in rest):
        return None
    others = [t for t in rest if not t.tags & _KEYWORD_TAIL]
    return [content[0]] if len(others) <= _MAX_OTHER_WORDS else None


def _keyword_clause(rule: Rule, command: Command, index: int, ctx: Context) -> list[Token] | None:
    """'stop svp, on reçoit déjà tout par courrier', 'Hilfe bitte, wie funktioniert das hier?': the first clause
    of the sentence is the command, the rest says why (and is still read for what vetoes it)."""
    clause = ctx.clauses[index]
    first = index == 0 or ctx.clauses[index - 1].sentence != clause.sentence
    if not first or clause.tags() & command.vetoes:  # 'stop le papier': the paper, not the mails
        return None
    found = _keyword_line(rule, command, clause)
    rest = [t for t in clause.tokens[1:] if not t.tags & (_KEYWORD_TAIL | _LEADING)]
    return found if not rest else None  # 'Stop met bellen aub, …': a word of its own, another sense


def _veto(rule: Rule, command: Command, clause: Clause) -> str | None:
    tags = clause.tags()
    vetoes = _keyword_vetoes(rule, tags) if rule.keyword else (GENERIC_VETOES | command.vetoes | rule.vetoes) - rule.allows
    if not rule.keyword and asks_politely(tags):
        vetoes = vetoes - {Cue.HYPOTHESIS}  # "Wäre nett, wenn ich die Rechnung nochmal bekommen könnte"
    hit = sorted(str(tag) for tag in clause.heads() & vetoes)  # what a compound is about vetoes nothing
    if not hit and not rule.keyword and rule.confidence < ACT and _unknown_words(clause):
        return "other words"  # weak evidence among other things said: not sure enough even to ask
    return hit[0] if hit else None


def _keyword_vetoes(rule: Rule, tags: set[str]) -> frozenset[str]:
    """What keeps a command word from being the command; 'Duplikat erhalten, herzlichen Dank!' tells that it came."""
    received = frozenset() if tags & SIGNAL else frozenset({Cue.RECEIVED})
    return (_KEYWORD_VETOES | received) - rule.allows


def _why(veto: str) -> str:
    named = {Cue.QUESTION_FORM: "question", Cue.WHY: "why-question", Cue.NEGATION: "negation",
             Cue.THANKS: "thanks", Cue.STATEMENT: "statement", Cue.HYPOTHESIS: "hypothesis",
             Cue.COMPLAINT: "complaint", Cue.CANCEL: "withdrawn", Cue.RECEIVED: "received",
             Cue.DENIED: "denied before"}
    return named.get(veto, f"about {veto}")


def _missing(command: Command) -> str:
    return "document number" if command.takes is Takes.DOCUMENTS else "single frequency"


def _args(rule: Rule, command: Command, clause: Clause, index: int,
          ctx: Context) -> tuple[tuple[str, ...], float] | None:
    """The command's arguments and what finding them away from the clause costs in confidence."""
    if command.takes is Takes.FREQUENCY:
        value = _frequency(clause)
        return ((value,), 0.0) if value else None
    if command.takes is Takes.NOTHING:
        return (), 0.0
    return _documents(rule, clause, index, ctx)


_LEFT_WITHIN = 5  # words after 'rather than' where the rhythm left is written ('than a separate mail for every…')


def _frequency(clause: Clause) -> str | None:
    """The one frequency a clause asks for; the first one written soon after 'instead of' or 'rather than' is the
    one it leaves, and so are those right after it ('statt jedes Mal einzeln', 'i.p.v. telkens apart', 'monthly
    rather than a separate message for every invoice')."""
    wanted, window, leaving = [], 0, False
    for index, token in enumerate(clause.tokens):
        if Cue.INSTEAD in token.tags:
            window = _LEFT_WITHIN
            continue
        values = [v for v in ("immediate", "daily", "weekly", "monthly") if v in token.tags]
        if values and (window or leaving or _counted(clause.tokens[max(0, index - 2):index])):
            leaving = True
        elif values:
            wanted.extend(values)
        else:
            leaving = False
        window = 0 if values else max(0, window - 1)
    distinct = list(dict.fromkeys(wanted))
    return distinct[0] if len(distinct) == 1 else None


def _counted(before: list[Token]) -> bool:
    """'trois mails par jour', '10 Mails pro Tag': how many come now, not how often they should."""
    return any(t.text in COUNTS or t.text.isdigit() and int(t.text) > 1 for t in before)


def _documents(rule: Rule, clause: Clause, index: int, ctx: Context) -> tuple[tuple[str, ...], float] | None:
    """The numbers of the clause; else, for 'this invoice' or 'it', those of the sentence, the message or the
    subject. 'All October invoices', 'the previous one', a link or 'the password' name no document we know."""
    own = clause.numbers() or _listed(clause, index, ctx)
    if own:
        return tuple(dict.fromkeys(own)), 0.0
    tags = clause.tags()
    if tags & {Cue.OTHER_DOCUMENTS} or (not tags & _DOCUMENTS and not _names_nothing(clause)
                                         and not _sent_by_mail(clause, index, ctx)):
        return None
    if not tags & _DOCUMENTS and _referent(index, ctx) & (_LINKS | {"code"}):
        return None
    added = _added(clause, index, ctx) if Cue.THIS_DOCUMENT in tags and ctx.answered else []
    if added:
        return tuple(dict.fromkeys([*ctx.answered, *added])), 0.0
    answered = 0.0 if Cue.THIS_DOCUMENT in tags else 0.1  # "this invoice" is the one of the mail answered
    for cost, numbers in ((0.05, _sentence_numbers(clause, index, ctx)), (0.1, _body_numbers(index, ctx)),
                          (answered, [n for c in ctx.subject for n in c.numbers()] or list(ctx.answered))):
        if numbers:
            return tuple(dict.fromkeys(numbers)), cost + (0.2 if len(set(numbers)) > 3 else 0.0)
    return ((), 0.0) if rule.keyword else None


# "…celle-ci, ainsi que celle du mois dernier, la F2026-0088", "deze, samen met die van vorige maand": one more
_ADDING = (("ainsi", "que"), ("de", "meme", "que"), ("as", "well", "as"), ("along", "with"), ("together", "with"),
           ("samen", "met"), ("evenals",), ("alsook",), ("sowie",), ("zusammen", "mit"), ("ebenso", "wie"))


def _added(clause: Clause, index: int, ctx: Context) -> list[str]:
    """The numbers of what the rest of the sentence adds to 'this one', from its 'as well as' on."""
    rest = list(takewhile(lambda c: c.sentence == clause.sentence, ctx.clauses[index + 1:]))
    words = [tuple(t.text for t in c.tokens[:3]) for c in rest]
    start = next((i for i, w in enumerate(words) if any(w[:len(a)] == a for a in _ADDING)), None)
    return [] if start is None else [n for c in rest[start:] for n in c.numbers()]


def _listed(clause: Clause, index: int, ctx: Context) -> list[str]:
    """'…the following documents:' then '- invoice F2026-0042' lines: the numbers of the list below ('For the
    following we miss the PDFs, could you send duplicates please:' says it in another clause of its sentence)."""
    sentence = [(i, c) for i, c in enumerate(ctx.clauses) if c.sentence == clause.sentence]
    if not any(Cue.LIST_INTRO in c.tags() for _, c in sentence):
        return []
    numbers: list[str] = []
    for item in ctx.clauses[sentence[-1][0] + 1:]:
        if _customer_only(item):  # '- F2026-0108 (client DL5765432)': the brackets make a clause of their own
            continue
        if not item.numbers() or _unknown_words(item):
            break
        numbers.extend(item.numbers())
    return numbers


def _customer_only(clause: Clause) -> bool:
    """'(client DL5765432)', '(credit note)': what an item of a list is, beside its number."""
    return bool(clause.tokens) and all(t.tags & {Cue.CUSTOMER, Cue.NUMBER_MARK, Cue.DOCUMENT} for t in clause.tokens)


def _sentence_numbers(clause: Clause, index: int, ctx: Context) -> list[str]:
    """What 'it' is in its sentence: the numbers of the nearest clause before it ("I have F2026-0041 but
    F2026-0042 is missing, please send it again": F2026-0042), else every number of the sentence."""
    same = [c for c in ctx.clauses if c.sentence == clause.sentence]
    return _nearest_before(same, index, ctx) or [n for c in same for n in c.numbers()]


def _body_numbers(index: int, ctx: Context) -> list[str]:
    """Numbers the message names elsewhere, in sentences that are not questions or complaints about them: the
    nearest before the request, else all of them."""
    calm = [c for c in ctx.clauses if not c.tags() & {Cue.QUESTION_FORM, Cue.WHY, Cue.COMPLAINT}]
    return _nearest_before(calm, index, ctx) or [n for c in calm for n in c.numbers()]


def _nearest_before(clauses: list[Clause], index: int, ctx: Context) -> list[str]:
    """The numbers of the nearest clause before that names some; of a list's items, those of the whole list
    ('- facture F2026-0311', '- note de crédit C2026-0027', then 'merci de nous en transmettre une copie')."""
    earlier = {id(c) for c in ctx.clauses[:index]}
    named = [c for c in clauses if id(c) in earlier and c.numbers()]
    if not named:
        return []
    last = named[-1]
    if not last.item:
        return last.numbers()
    at = next(i for i, c in enumerate(ctx.clauses) if c is last)  # the clause itself, not an equal one
    items = list(takewhile(lambda c: c.item, reversed(ctx.clauses[:at + 1])))
    return [n for c in reversed(items) for n in c.numbers()]


def _built(command: Command, rule: Rule, clause: Clause, tokens: list[Token],
           found: tuple[tuple[str, ...], float], ctx: Context) -> Intent:
    args, cost = found
    typo = 0.1 if any("typo" in t.tags for t in clause.tokens if t.tags & _rule_tags(rule)) else 0.0
    confidence = round(max(0.0, rule.confidence - cost - typo), 2)
    spans = tuple(Span(ctx.source, t.start, t.end, ctx.text[t.start:t.end], _cue_of(t, rule))
                  for t in _evidence(clause, tokens))
    return Intent(command.name, args, confidence, f"{command.name}.{rule.name}", spans, ctx.source,
                  _language(clause), _customer(clause, ctx))


def _customer(clause: Clause, ctx: Context) -> str | None:
    """A customer number written in the request's clause, else in its sentence ('… F2026-0311 (n° client
    DL3019876)': the brackets make a clause of their own)."""
    sentence = [t for c in ctx.clauses if c.sentence == clause.sentence for t in c.tokens]
    for tokens in (clause.tokens, sentence):
        found = next(filter(None, map(_customer_number, tokens)), None)
        if found:
            return found
    return None


def _rule_tags(rule: Rule) -> set[str]:
    return {tag for group in rule.needs for tag in group}


def _evidence(clause: Clause, tokens: list[Token]) -> list[Token]:
    """The rule's words, plus the clause's numbers and asking words, in reading order."""
    extra = [t for t in clause.tokens if t.tags & ({Cue.NUMBER} | _ASKS)]
    chosen = {id(t): t for t in [*tokens, *extra]}
    return sorted(chosen.values(), key=lambda t: t.start)


def _cue_of(token: Token, rule: Rule) -> str:
    for group in rule.needs:
        if token.tags & group:
            return sorted(str(t) for t in token.tags & group)[0]
    named = sorted(str(t) for t in token.tags - {"typo"} - _PLACED)
    return named[0] if named else "word"


def _language(clause: Clause) -> str | None:
    counts = Counter(lang for t in clause.tokens if len(t.languages) == 1 for lang in t.languages)
    return counts.most_common(1)[0][0] if counts else None


def _text(clause: Clause, ctx: Context) -> str:
    return ctx.text[clause.tokens[0].start:clause.tokens[-1].end]


def _remark(clause: Clause) -> str | None:
    """Why a clause that asks nothing matters to staff: it complains, asks why, or asks about a document."""
    tags = clause.tags()
    about = bool(tags & {Cue.NUMBER, Cue.DOCUMENT})
    if Cue.WHY in tags:
        return "why-question: nothing asked"
    if Cue.COMPLAINT in tags:
        return "complaint: nothing asked"
    if Cue.QUESTION_FORM in tags and about:
        return "question about a document: nothing asked"
    for tag, reason in ((Cue.THANKS, "thanks"), (Cue.NEGATION, "negation"), (Cue.STATEMENT, "statement")):
        if tag in tags and Cue.NUMBER in tags:
            return f"{reason}: a document named, nothing asked"
    return "a document named, nothing asked" if Cue.NUMBER in tags else None


def _each_document(intent: Intent, ctx: Context) -> list[Intent]:
    """One DUPLICATE per document number, as each is looked up, answered and shown to staff on its own, with
    the customer number written beside it, if any."""
    if intent.name is not CommandName.DUPLICATE or not intent.args:
        return [intent]
    return [replace(intent, args=(number,), customer=ctx.beside.get(number) or intent.customer or ctx.sole_customer)
            for number in intent.args]


def _customer_number(token: Token) -> str | None:
    """The customer number a token writes ('DL2123456'), not the word 'client' that announces one."""
    return token.value.upper() if token.tags == {Cue.CUSTOMER} and token.value else None


def _customers_beside(clauses: list[Clause]) -> dict[str, str]:
    """Document number → the customer number on its line: '- F2026-0108 (client DL5765432)'; a line with one
    customer number gives it to each of its documents, one with as many pairs them in order."""
    beside: dict[str, str] = {}
    for line in {c.line for c in clauses}:
        tokens = [t for c in clauses if c.line == line for t in c.tokens]
        numbers = [t.value for t in tokens if Cue.NUMBER in t.tags]
        customers = [n for n in map(_customer_number, tokens) if n]
        if numbers and (len(customers) == 1 or len(customers) == len(numbers)):
            beside.update(zip(numbers, customers * len(numbers) if len(customers) == 1 else customers))
    return beside


def _unique(intents: Iterable[Intent]) -> list[Intent]:
    """Each request once, at its surest reading; a DUPLICATE without a number goes when one has a number."""
    best: dict[tuple[str, tuple[str, ...]], Intent] = {}
    for intent in intents:
        key = (intent.name, intent.args)
        if key not in best or intent.confidence > best[key].confidence:
            best[key] = intent
    numbered = {name for name, args in best if args}
    return [i for i in best.values() if i.args or i.name not in numbered or i.name is not CommandName.DUPLICATE]
