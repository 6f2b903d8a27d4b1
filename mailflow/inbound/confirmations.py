"""Requests mailflow was unsure of: asked back ("Did you mean: DUPLICATE F2026-0042?"), kept for a week, and
carried out only when the same person says yes in reply to that very question."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mailflow.clock import naive_utc
from mailflow.inbound.commands import COMMANDS, CommandName
from mailflow.inbound.lexicon import fold, words_of
from mailflow.inbound.requests import Intent
from mailflow.models import Confirmation, Customer, InboundMessage, User

__all__ = ["CONFIRM_DAYS", "PURPOSE", "Answer", "Asked", "ConfirmationStatus", "answer_of", "ask", "asked",
           "decide", "effective_status", "expired", "open_for", "question_lines"]

CONFIRM_DAYS = 7
PURPOSE = "confirm"  # the reply token purpose of a question's Reply-To


class ConfirmationStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    SUPERSEDED = "superseded"  # a newer question to the same person and customer number replaced it
    EXPIRED = "expired"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"


@dataclass(frozen=True)
class Asked:
    """One command stored in a question, as it will be carried out."""

    name: CommandName
    args: tuple[str, ...]
    customer: str | None = None


# The first words of a reply that answer a yes/no question, in the four languages (and the usual English).
_YES = ("yes", "yes please", "yep", "yeah", "correct", "that's right", "confirm", "confirmed", "i confirm", "sure",
        "ok", "okay", "oui", "oui merci", "oui svp", "c'est ça", "c'est bien ça", "exact", "exactement", "je confirme",
        "confirmé", "d'accord", "ja", "ja graag", "ja hoor", "ja bitte", "ja danke", "klopt", "inderdaad", "akkoord",
        "bevestigd", "ik bevestig", "genau", "richtig", "korrekt", "bestätigt", "ich bestätige", "einverstanden",
        "jawohl", "stimmt", "oké")
_NO = ("no", "nope", "no thanks", "cancel", "non", "non merci", "annuler", "pas du tout", "nee", "neen",
       "nee bedankt", "annuleren", "nein", "nein danke", "abbrechen", "stornieren")
_GREETINGS = frozenset(words_of("hello hi dear bonjour madame monsieur hallo beste goedemorgen goedemiddag guten tag "
                                "sehr geehrte damen und herren dag"))


def answer_of(reply_text: str) -> Answer | None:
    """YES or NO when the reply opens with one (after a greeting), else None."""
    words = [w for w in words_of(_first_line(reply_text)) if w not in _GREETINGS]
    said = " ".join(words)
    for answer, forms in ((Answer.NO, _NO), (Answer.YES, _YES)):
        if any(said == f or said.startswith(f + " ") for f in map(_folded, forms)):
            return answer
    return None


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if words_of(line) and not set(words_of(line)) <= _GREETINGS]
    return lines[0] if lines else ""


def _folded(text: str) -> str:
    return " ".join(words_of(fold(text)))


def ask(user: User, customer: Customer | None, intents: list[Intent], inbound: InboundMessage | None,
        now: datetime) -> Confirmation:
    """Store the question: it replaces an open one to the same person about the same customer number."""
    at = naive_utc(now)
    Confirmation.update(status=ConfirmationStatus.SUPERSEDED, answered_at=at).where(
        *_open(user, customer, at)).execute()
    commands = [{"name": str(i.name), "args": list(i.args), "customer": i.customer} for i in intents]
    return Confirmation.create(user=user, customer=customer, commands=json.dumps(commands), inbound=inbound,
                               created_at=at, expires_at=at + timedelta(days=CONFIRM_DAYS))


def _open(user: User, customer: Customer | None, at: datetime) -> list:
    """Conditions of the open questions to `user` about `customer` (None: no customer number)."""
    same = Confirmation.customer.is_null() if customer is None else Confirmation.customer == customer
    return [Confirmation.user == user, Confirmation.status == ConfirmationStatus.PENDING,
            Confirmation.expires_at > at, same]


def asked(confirmation: Confirmation) -> list[Asked]:
    return [Asked(CommandName(c["name"]), tuple(c["args"]), c.get("customer"))
            for c in json.loads(confirmation.commands)]


def question_lines(language: str, intents: list[Intent], gettext) -> list[str]:
    """The question, in the person's language, naming each command as they would write it."""
    proposed = ", ".join(COMMANDS[i.name].keyword(language, i.args) for i in intents)
    return [gettext("Did you mean: %(commands)s? Reply YES / OUI / JA to confirm; nothing is done until you do. "
                    "This question stays open for %(days)s days.", commands=proposed, days=CONFIRM_DAYS)]


def open_for(user: User, customer: Customer | None, references: list[str], now: datetime) -> Confirmation | None:
    """The question a reply answers: the one its In-Reply-To or References names, else the person's only open
    one about that customer number. None when there is none (any more)."""
    named = _named(user, references)
    if named is not None:
        return named
    same = Confirmation.customer.is_null() if customer is None else Confirmation.customer == customer
    return (Confirmation.select()
            .where(Confirmation.user == user, Confirmation.status == ConfirmationStatus.PENDING, same)
            .order_by(Confirmation.created_at.desc(), Confirmation.id.desc()).first())


def _named(user: User, references: list[str]) -> Confirmation | None:
    ids = [r if r.startswith("<") else f"<{r}>" for r in references if r]
    if not ids:
        return None
    return (Confirmation.select().where(Confirmation.user == user, Confirmation.question.in_(ids))
            .order_by(Confirmation.id.desc()).first())


def decide(confirmation: Confirmation, answer: Answer, inbound: InboundMessage | None, now: datetime) -> bool:
    """Close a pending, unexpired question with the answer; False when it was not open any more (another reply
    closed it first, it was replaced, or it expired): compare-and-set, so two yeses carry out one request."""
    at = naive_utc(now)
    status = ConfirmationStatus.CONFIRMED if answer is Answer.YES else ConfirmationStatus.DECLINED
    return bool(Confirmation.update(status=status, answered_at=at, answer=inbound)
                .where(Confirmation.id == confirmation.id, Confirmation.status == ConfirmationStatus.PENDING,
                       Confirmation.expires_at > at).execute())


def expired(confirmation: Confirmation, now: datetime) -> None:
    """A yes that came too late: the question is closed as expired."""
    (Confirmation.update(status=ConfirmationStatus.EXPIRED, answered_at=naive_utc(now))
     .where(Confirmation.id == confirmation.id, Confirmation.status == ConfirmationStatus.PENDING).execute())


def effective_status(confirmation: Confirmation, now: datetime) -> ConfirmationStatus:
    """What staff should read: a pending question past its week is expired, whether or not anyone answered."""
    status = ConfirmationStatus(confirmation.status)
    late = status is ConfirmationStatus.PENDING and confirmation.expires_at <= naive_utc(now)
    return ConfirmationStatus.EXPIRED if late else status


def preview(user: User | None, customer: Customer | None, purpose: str | None, reply_text: str,
            references: list[str], intents: list[Intent], now: datetime) -> dict[str, object] | None:
    """For `mailflow inbound inspect`: the open question a reply answers (and how), or the one it would ask."""
    answer = answer_of(reply_text) if purpose == PURPOSE else None
    if answer is not None:
        pending = open_for(user, customer, references, now) if user is not None else None
        return {"answer": str(answer), "question": None if pending is None else _as_json(pending, now)}
    unsure = [{"name": str(i.name), "args": list(i.args)} for i in intents if i.decision == "ask"]
    return {"would_ask": unsure, "open_days": CONFIRM_DAYS} if unsure else None


def _as_json(confirmation: Confirmation, now: datetime) -> dict[str, object]:
    return {"id": confirmation.id, "status": str(effective_status(confirmation, now)),
            "commands": json.loads(confirmation.commands), "expires_at": confirmation.expires_at.isoformat()}
