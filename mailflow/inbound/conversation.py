"""Acting on what a person wrote: commands carried out and answered, anything else to the staff queue."""

from __future__ import annotations

from mailflow.inbound import answers
from mailflow.inbound.commands import PUBLIC, REGISTRY, Request, Result, customer_scope, refused
from mailflow.inbound.outcome import Outcome
from mailflow.inbound.understanding import Understanding
from mailflow.models import InboundMessage, Outbox
from mailflow.runtime import Runtime

MAX_COMMANDS = 5  # a reply is a request, not a script


def handle_message(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    no_answer = answers.refusal(rt, u, row.envelope_from)
    if no_answer:
        what = f"commands {_names(u)} not acted on" if u.commands else "not understood"
        return _to_staff(u, f"{what}; {no_answer}")
    if not u.commands:
        return _acknowledge(rt, row, u)
    return _run_commands(rt, row, u)


def _to_staff(u: Understanding, action: str) -> Outcome:
    if u.spoofed:
        action = "From does not match the user of the reply address: not acted on; " + action
    return Outcome("staff", action, u.sender, None)


def _acknowledge(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    """Not a command: staff read it; the sender hears, once, that it arrived."""
    budget = answers.Budget(rt, u.sender, signed=u.authorized)
    if not budget.spend():
        return _to_staff(u, "not understood; acknowledgement not sent: daily answer limit reached")
    customer = u.token.customer if u.authorized else None
    out = answers.send(rt, u.sender, "staff_ack", {"original_subject": u.parsed.subject}, customer,
                       answers.thread_id(row.message_id))
    outcome = _to_staff(u, "not understood; acknowledgement sent")
    outcome.outbox = out
    return outcome


def _run_commands(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    customer = u.token.customer if u.authorized else None
    commands, scope = customer_scope(u.commands, u.sender)
    req = Request(rt, u.sender, customer, answers.thread_id(row.message_id),
                  answers.Budget(rt, u.sender, signed=u.authorized), scope)
    results, to_staff = [], False
    for command in commands[:MAX_COMMANDS]:
        if u.authorized or command.name in PUBLIC:
            results += REGISTRY[command.name](req, list(command.args))
        else:
            results.append(refused(req, command.name, _why_not(u)))
            to_staff = True
    out = _answer(req, results)
    action = "; ".join(r.action for r in results) + _answer_note(results, out)
    status = "staff" if to_staff else "processed"
    return Outcome(status, action, u.sender, customer, out or _last_mail(results))


def _why_not(u: Understanding) -> str | None:
    if u.spoofed:
        return "of another user"
    return u.token.reason if u.token else None


def _answer(req: Request, results: list[Result]) -> Outbox | None:
    """One answer for everything no separate mail already answered; None when nothing is left to say."""
    if all(r.answered or r.line is None for r in results) or not req.budget.spend():
        return None
    lines = [r.line for r in results if r.line]
    return answers.send(req.rt, req.user, "command_answer", {"lines": lines}, req.customer, req.in_reply_to)


def _answer_note(results: list[Result], out: Outbox | None) -> str:
    if out is not None:
        return "; answered"
    if any(not r.answered and r.line for r in results):
        return "; answer not sent: daily answer limit reached"
    return ""


def _last_mail(results: list[Result]) -> Outbox | None:
    mailed = [r.outbox for r in results if r.outbox is not None]
    return mailed[-1] if mailed else None


def _names(u: Understanding) -> str:
    return ", ".join(c.name.upper() for c in u.commands)
