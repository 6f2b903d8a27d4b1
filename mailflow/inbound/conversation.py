"""Acting on what a person wrote: clear requests carried out and answered, unsure ones asked back, answers to
those questions honoured, anything else to the staff queue."""

from __future__ import annotations

from mailflow.inbound import answers, confirmations
from mailflow.inbound.commands import COMMANDS, CommandName, Request, Result, customer_scope, refused
from mailflow.inbound.confirmations import Answer, Asked, ConfirmationStatus
from mailflow.inbound.outcome import Outcome
from mailflow.inbound.requests import Decision, Intent
from mailflow.inbound.understanding import Understanding, unauthenticated
from mailflow.models import Confirmation, InboundMessage, Outbox
from mailflow.runtime import Runtime

MAX_COMMANDS = 5  # a reply is a request, not a script


def handle_message(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    no_answer = answers.refusal(rt, u, row.envelope_from)
    if no_answer:
        what = f"requests {_names(u.commands)} not acted on" if u.commands else "not understood"
        return _to_staff(u, f"{what}; {no_answer}")
    answer = confirmations.answer_of(u.reply_text) if _to_a_question(u) else None
    if answer is not None:
        return _answered(rt, row, u, answer)
    if not u.commands:
        return _acknowledge(rt, row, u)
    return _run_commands(rt, row, u)


def _to_staff(u: Understanding, action: str) -> Outcome:
    if u.spoofed:
        action = "From does not match the user of the reply address: not acted on; " + action
    return Outcome("staff", action, u.sender, None)


def _acknowledge(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    """Not a request: staff read it; the sender hears, once, that it arrived."""
    budget = answers.Budget(rt, u.sender, signed=u.authorized)
    if not budget.spend():
        return _to_staff(u, "not understood; acknowledgement not sent: daily answer limit reached")
    customer = u.token.customer if u.authorized else None
    out = answers.send(rt, u.sender, "staff_ack", {"original_subject": u.parsed.subject}, customer,
                       answers.thread_id(row.message_id))
    outcome = _to_staff(u, "not understood; acknowledgement sent")
    outcome.outbox = out
    return outcome


def _request(rt: Runtime, row: InboundMessage, u: Understanding, commands: list) -> tuple[Request, list]:
    customer = u.token.customer if u.authorized else None
    commands, scope = customer_scope(commands, u.sender)
    req = Request(rt, u.sender, customer, answers.thread_id(row.message_id),
                  answers.Budget(rt, u.sender, signed=u.authorized), scope)
    return req, commands


# --- requests -----------------------------------------------------------------------------------------------

def _run_commands(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    req, intents = _request(rt, row, u, u.commands[:MAX_COMMANDS])
    allowed = [i for i in intents if u.authorized or COMMANDS[i.name].public]
    results = [refused(req, i.name, _why_not(u)) for i in intents if i not in allowed]
    results += _dmarc_report(rt, u)
    blocked = unauthenticated(rt, u)
    held = [i for i in allowed if blocked and i.name is not CommandName.HELP]  # HELP only tells, to the user
    results += [_unproven(req, i.name, blocked) for i in held]
    allowed = [i for i in allowed if i not in held]
    results += _carried_out(req, [i for i in allowed if i.decision is Decision.ACT])
    unsure = [i for i in allowed if i.decision is Decision.ASK]
    question = confirmations.ask(req.user, req.customer, unsure, row, rt.now()) if unsure else None
    if question is not None:
        results.append(_question(req, unsure, question))
    out = _answer(req, results, confirmations.PURPOSE if question else "answer", intents)
    if question is not None and out is not None:
        Confirmation.update(question=out.message_id).where(Confirmation.id == question.id).execute()
    return _outcome(u, req, results, out, len(allowed) < len(intents))


def _carried_out(req: Request, commands: list) -> list[Result]:
    return [result for command in commands for result in COMMANDS[command.name].handler(req, list(command.args))]


def _question(req: Request, unsure: list[Intent], question: Confirmation) -> Result:
    lines = confirmations.question_lines(req.user.language, unsure, req._)
    return Result("\n".join(lines), f"asked to confirm {_names(unsure)} (confirmation #{question.id}, pending)")


def _outcome(u: Understanding, req: Request, results: list[Result], out: Outbox | None,
             to_staff: bool) -> Outcome:
    action = "; ".join(r.action for r in results) + _answer_note(results, out)
    if u.reading.remarks and not to_staff:  # a request carried out beside a question or complaint
        to_staff = True
        action += "; the message also asks or complains about something: for staff"
    return Outcome("staff" if to_staff else "processed", action, u.sender, req.customer,
                   out or _last_mail(results))


def _unproven(req: Request, name: str, why: str | None) -> Result:
    """Held back: the From domain asks for DMARC and the message fails it. The registered user is told as for a
    reply from another address (the line says the same), staff read why."""
    return Result(refused(req, name, None).line, f"{name} not acted on: {why}; sent to staff")


def _dmarc_report(rt: Runtime, u: Understanding) -> list[Result]:
    """`[inbound] dmarc = report`: acted on all the same, and staff read what enforcing would have refused."""
    why = u.auth.refusal() if u.auth and rt.config.inbound.dmarc == "report" else None
    return [Result(None, f"DMARC not passed (report only, acted on): {why}")] if why else []


def _why_not(u: Understanding) -> str | None:
    if u.spoofed:
        return "of another user"
    return u.token.reason if u.token else None


# --- answers to our questions -------------------------------------------------------------------------------

def _to_a_question(u: Understanding) -> bool:
    token = u.token
    return bool(token and token.valid and token.claim and token.claim.purpose == confirmations.PURPOSE)


def _answered(rt: Runtime, row: InboundMessage, u: Understanding, answer: Answer) -> Outcome:
    """YES or NO to one of our questions: only from the person asked, only while it is open."""
    if not u.authorized:
        return _to_staff(u, f"{answer} to a confirmation question, not from the person asked: nothing done")
    blocked = unauthenticated(rt, u)
    if blocked:
        return _to_staff(u, f"{answer} to a confirmation question: {blocked}; nothing done")
    references = [u.parsed.in_reply_to or "", *u.parsed.references]
    pending = confirmations.open_for(u.sender, u.token.customer, references, rt.now())
    if pending is None:
        return _to_staff(u, f"{answer} to a confirmation question, but none is open: nothing done")
    stored = confirmations.asked(pending)
    req, commands = _request(rt, row, u, stored)
    results = _settled(req, pending, answer, commands, row)
    out = _answer(req, results, "answer", commands)
    closed = ConfirmationStatus(Confirmation.get_by_id(pending.id).status)
    return _outcome(u, req, results, out, closed is not ConfirmationStatus.CONFIRMED and answer is Answer.YES)


def _settled(req: Request, pending: Confirmation, answer: Answer, commands: list[Asked],
             row: InboundMessage) -> list[Result]:
    now = req.rt.now()
    if confirmations.decide(pending, answer, row, now):
        if answer is Answer.NO:
            return [Result(req._("Understood: we did nothing."), f"confirmation #{pending.id} declined")]
        done = _carried_out(req, commands)
        return [Result(None, f"confirmation #{pending.id} confirmed"), *done]
    return [_not_open(req, pending, now)]


def _not_open(req: Request, pending: Confirmation, now) -> Result:
    if confirmations.effective_status(pending, now) is ConfirmationStatus.EXPIRED:
        confirmations.expired(pending, now)
        return Result(req._("Your answer came after the question had expired, so we did nothing. Please write "
                            "your request again."), f"confirmation #{pending.id} expired: nothing done")
    return Result(req._("This question was already answered or replaced by a newer one, so we did nothing."),
                  f"confirmation #{pending.id} no longer open ({pending.status}): nothing done")


# --- the answer ---------------------------------------------------------------------------------------------

def _answer(req: Request, results: list[Result], purpose: str, asked: list = ()) -> Outbox | None:
    """One answer for everything no separate mail already answered; None when nothing is left to say. Its
    subject names what was `asked`, as the person would write it."""
    if all(r.answered or r.line is None for r in results) or not req.budget.spend():
        return None
    lines = [r.line for r in results if r.line]
    requested = [COMMANDS[i.name].keyword(req.user.language, tuple(i.args)) for i in asked]
    return answers.send(req.rt, req.user, "command_answer", {"lines": lines, "requested": requested}, req.customer,
                        req.in_reply_to, purpose)


def _answer_note(results: list[Result], out: Outbox | None) -> str:
    if out is not None:
        return "; answered"
    if any(not r.answered and r.line for r in results):
        return "; answer not sent: daily answer limit reached"
    return ""


def _last_mail(results: list[Result]) -> Outbox | None:
    mailed = [r.outbox for r in results if r.outbox is not None]
    return mailed[-1] if mailed else None


def _names(commands: list) -> str:
    return ", ".join(f"{c.name.upper()} {' '.join(c.args)}".strip() for c in commands)
