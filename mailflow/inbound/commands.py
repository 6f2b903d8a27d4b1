"""Reply commands: one small handler per command, found through an explicit registry (Mailman's eml_* style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailflow import actions, documents, i18n
from mailflow.accounts import customers_of
from mailflow.errors import RateLimited
from mailflow.inbound.command_parser import ParsedCommand
from mailflow.inbound.answers import Budget
from mailflow.models import Customer, Document, Outbox, User
from mailflow.runtime import Runtime

# Work for a known sender even without a valid reply token: their answers go to the registered address.
PUBLIC = frozenset({"help", "login"})
HELP_LINES = (
    "HELP: this list of commands.",
    "LOGIN: receive a link to log in to the portal.",
    "RESEND: receive a new activation link for your account.",
    "DUPLICATE <number>: receive a copy of a document with its PDF, for example DUPLICATE F2026-0042.",
    "IMMEDIATE, DAILY, WEEKLY or MONTHLY: choose how often you are told about new documents.",
    "STOP: no more notifications by mail.",
)
HOW_OFTEN = {"immediate": "as soon as they are published", "daily": "once a day", "weekly": "once a week",
             "monthly": "once a month"}


@dataclass
class Request:
    """One command to carry out for a registered user, with what the reply token allowed."""

    rt: Runtime
    user: User
    customer: Customer | None  # the customer number the reply token names
    in_reply_to: str | None
    budget: Budget
    scope: Customer | None = None  # a customer number written in the message itself (DUPLICATE F… DL5…)

    def _(self, message: str, **values: object) -> str:
        return i18n.gettext(self.user.language, message, **values)


@dataclass
class Result:
    line: str | None  # what the answer says about this command, in the user's language
    action: str  # what staff read
    answered: bool = False  # the effect was itself a mail to the user (duplicate, link, invitation)
    outbox: Outbox | None = None


Handler = Callable[[Request, list[str]], list[Result]]


def eml_help(req: Request, args: list[str]) -> list[Result]:
    intro = req._("Here is what you can do by replying to our mails. Write one command at the top of your reply:")
    lines = [intro, *(req._(line) for line in HELP_LINES)]
    return [Result("\n".join(lines), "help sent")]


def eml_login(req: Request, args: list[str]) -> list[Result]:
    if not req.budget.available():
        return [Result(None, "login link not sent: daily answer limit reached")]
    client = actions.REPLY_CLIENT if req.budget.signed else actions.UNSIGNED_MAIL_CLIENT
    out = actions.login_link(req.rt, req.user, client, in_reply_to=req.in_reply_to)
    if out is None:
        return [Result(req._("You asked for several login links in the last hour. Please use the most recent "
                             "one or try again later."), "login link not sent: rate-limited")]
    req.budget.spend()
    return [Result(req._("We sent you a login link in a separate mail."), "login link mailed", True, out)]


def eml_resend(req: Request, args: list[str]) -> list[Result]:
    if not req.budget.available():
        return [Result(None, "invitation not sent: daily answer limit reached")]
    out = actions.resend_invitation(req.rt, req.user, in_reply_to=req.in_reply_to)
    req.budget.spend()
    return [Result(req._("We sent you a new activation link in a separate mail. Earlier links no longer work."),
                   "invitation mailed again", True, out)]


def eml_duplicate(req: Request, args: list[str]) -> list[Result]:
    if not args:
        return [Result(req._("Please add the document number after DUPLICATE, for example: "
                             "DUPLICATE F2026-0042."), "duplicate refused: no document number")]
    return [_duplicate(req, number) for number in args[:5]]


def _duplicate(req: Request, number: str) -> Result:
    if not req.budget.available():
        return Result(None, f"duplicate {number} not sent: daily answer limit reached")
    found = _within(documents.visible_by_number(req.user, number), req.scope or req.customer)
    if not found:  # unknown and not visible read the same: no answer tells which documents exist
        return Result(req._("We found no document %(number)s among the documents you can see. Please check "
                            "the number.", number=number), f"duplicate {number}: no such visible document")
    if len(found) > 1:
        return _which(req, number, found)
    return _send_duplicate(req, found[0])


def _within(found: list[Document], customer: Customer | None) -> list[Document]:
    """The document of the customer number the reply names, when it has that number; else all found."""
    named = [doc for doc in found if customer is not None and doc.customer_id == customer.id]
    return named or found


def _which(req: Request, number: str, found: list[Document]) -> Result:
    """The same number under several customer numbers (two issuers): ask, never guess whose."""
    choices = ", ".join(f"{doc.customer.number} ({doc.customer.company})" for doc in found)
    text = req._("Document %(number)s exists for several of your customer numbers: %(choices)s. Please write "
                 "the customer number after the document number, for example: DUPLICATE %(number)s %(example)s.",
                 number=number, choices=choices, example=found[-1].customer.number)
    return Result(text, f"duplicate {number}: under {len(found)} customer numbers, asked which")


def _send_duplicate(req: Request, document: Document) -> Result:
    number = document.number
    try:
        request = actions.duplicate(req.rt, req.user, document.id, "mail", in_reply_to=req.in_reply_to)
    except RateLimited:
        limit = req.rt.config.limits.duplicates_per_document_per_day
        return Result(req._("You have already asked for %(limit)s duplicates of %(number)s today. Please try "
                            "again tomorrow.", limit=limit, number=number), f"duplicate {number}: rate-limited")
    req.budget.spend()
    return Result(req._("We sent you the duplicate of %(number)s in a separate mail.", number=number),
                  f"duplicate {number} ({document.customer.number}) mailed", True, request.outbox)


def customer_scope(commands: list[ParsedCommand], user: User) -> tuple[list[ParsedCommand], Customer | None]:
    """`DUPLICATE F2026-0042 DL5765432`: a customer number the user sees, written where document numbers go,
    says where to look rather than naming a document."""
    visible = {c.number: c for c in customers_of(user)}
    named = [c for c in commands if c.name == "duplicate" and c.args and c.args[0] in visible]
    rest = [c for c in commands if c not in named]
    return (rest, visible[named[0].args[0]]) if named and rest != commands else (commands, None)


def eml_frequency(req: Request, args: list[str]) -> list[Result]:
    frequency = args[0] if args and args[0] in HOW_OFTEN else None
    if frequency is None:
        return [Result(req._("Please write IMMEDIATE, DAILY, WEEKLY or MONTHLY."), "frequency refused: no value")]
    actions.set_frequency(req.rt, req.user, frequency, req.customer)
    text = req._("From now on you will be told about new documents %(how)s, for %(scope)s.",
                 how=req._(HOW_OFTEN[frequency]), scope=_scope(req))
    return [Result(text, f"frequency set to {frequency} for {_staff_scope(req)}")]


def eml_stop(req: Request, args: list[str]) -> list[Result]:
    actions.set_frequency(req.rt, req.user, "off", req.customer)
    text = req._("You will no longer receive notifications by mail for %(scope)s. To turn them back on, reply "
                 "IMMEDIATE, DAILY, WEEKLY or MONTHLY, or change your settings at %(url)s.",
                 scope=_scope(req), url=req.rt.url("settings"))
    return [Result(text, f"notifications off for {_staff_scope(req)}")]


def _scope(req: Request) -> str:
    if req.customer is None:
        return req._("all your customer numbers")
    return req._("customer number %(number)s", number=req.customer.number)


def _staff_scope(req: Request) -> str:
    return req.customer.number if req.customer else "all customer numbers"


REGISTRY: dict[str, Handler] = {
    "help": eml_help,
    "login": eml_login,
    "resend": eml_resend,
    "duplicate": eml_duplicate,
    "frequency": eml_frequency,
    "stop": eml_stop,
}


def refused(req: Request, name: str, reason: str | None) -> Result:
    """A command that needs a valid reply token from its own user, given without one: staff decide."""
    if reason == "expired":
        line = req._("The reply address of the mail you answered has expired, so we did not carry out your "
                     "request. Please reply to a more recent mail from us. Your message has been passed on "
                     "to our support team.")
    else:
        line = req._("We can only carry out this request when you reply to one of our mails from the address "
                     "it was sent to. Your message has been passed on to our support team.")
    return Result(line, f"{name} not acted on: reply token {reason or 'missing'}; sent to staff")
