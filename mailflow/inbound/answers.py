"""Whether and how mailflow answers a message: never to robots or strangers, a few a day, in the user's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mailflow import ratelimit
from mailflow.errors import RateLimited
from mailflow.inbound.understanding import Understanding, own_domains
from mailflow.models import Customer, Outbox, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime

DAY = timedelta(days=1)
# RFC 5322 msg-id: atext and dots on both sides of the @ (a domain literal on the right).
_MSG_ID = re.compile(r"<[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w.!#$%&'*+/=?^`{|}~-]+|\[[^\[\]\\\s]*\])>", re.ASCII)
# RFC 3834 2: mail from lists and bulk senders is never answered automatically.
_LIST_HEADERS = ("list-id", "list-post", "list-help", "list-unsubscribe", "x-loop")


def refusal(rt: Runtime, u: Understanding, envelope_from: str | None) -> str | None:
    """Why this message must get no answer at all, or None when one may be sent."""
    if u.sender is None:
        return "unknown sender: never answered"
    if u.classification.kind != "message":
        return f"{u.classification.kind}: never answered"
    if envelope_from == "":
        return "null return path: never answered"
    if any(name in u.parsed.headers for name in _LIST_HEADERS):
        return "list or bulk mail: never answered"
    if u.sender.email.rpartition("@")[2] in own_domains(rt) or u.sender.email == rt.config.outbound.from_address:
        return "our own address: never answered"
    return None


@dataclass
class Budget:
    """Answers to one address per day, shared by every process, in two separate budgets.

    Mail signed by a valid reply token from its own user has `[inbound] answers_per_day`; anything
    else (a forged From, an old or missing token) has `unsigned_answers_per_day`, so a flood of forged
    mail cannot spend the answers to the person's genuine replies.
    """

    rt: Runtime
    user: User
    signed: bool = False

    @property
    def key(self) -> str:
        return f"answer:{self.user.id}:{'signed' if self.signed else 'unsigned'}"

    @property
    def limit(self) -> int:
        inbound = self.rt.config.inbound
        return inbound.answers_per_day if self.signed else inbound.unsigned_answers_per_day

    def available(self) -> bool:
        return ratelimit.remaining(self.key, self.limit, DAY, self.rt.now()) > 0

    def spend(self) -> bool:
        try:
            ratelimit.hit(self.key, self.limit, DAY, self.rt.now())
        except RateLimited:
            return False
        return True


def thread_id(message_id: str | None) -> str | None:
    """The sender's Message-ID if it is fit to echo in In-Reply-To; else None and the answer starts a thread.

    An encoded word is valid atext, but readers decode it anyway: "=?utf-8?q?=0D=0ABcc:?=" would become a line break.
    """
    if message_id and _MSG_ID.fullmatch(message_id) and "=?" not in message_id:
        return message_id
    return None


def send(rt: Runtime, user: User, template: str, context: dict[str, Any], customer: Customer | None,
         in_reply_to: str | None, purpose: str = "answer") -> Outbox:
    """Queue an answer: `Auto-Submitted: auto-replied`, threaded under the message it answers. A question
    ("Did you mean …?") has its own purpose, so only a reply to it can confirm."""
    return mails.queue(rt, mails.MailRequest(user, template, "answer", purpose, context, customer,
                                             auto_submitted="auto-replied", in_reply_to=in_reply_to))
