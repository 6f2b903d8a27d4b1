"""Staff console, mail side: inbound messages, the outbox, bounces and suppressions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from peewee import fn
from starlette.responses import Response
from starlette.routing import Route

from mailflow import audit, support
from mailflow.clock import naive_utc
from mailflow.errors import NotFound, ValidationError
from mailflow.inbound import confirmations, mentions
from mailflow.inbound.requests import Note, read_requests
from mailflow.models import Confirmation, InboundMessage, Outbox, Suppression
from mailflow.outbound import outbox
from mailflow.web.context import Ctx, page

PER_PAGE = 50
INBOUND_STATUSES = ("received", "processing", "processed", "staff", "ignored", "failed")
RETRYABLE = ("failed", "suppressed", "deferred")


@dataclass(frozen=True)
class Listing:
    rows: list[Any]
    page: int
    has_next: bool


def listing(query, ctx: Ctx) -> Listing:
    text = ctx.request.query_params.get("page", "1")
    number = int(text) if text.isdigit() and 0 < int(text) <= 10_000 else 1
    rows = list(query.limit(PER_PAGE + 1).offset((number - 1) * PER_PAGE))
    return Listing(rows[:PER_PAGE], number, len(rows) > PER_PAGE)


def actor(ctx: Ctx) -> str:
    return f"staff:{ctx.user.email}"


def status_filter(ctx: Ctx, allowed: tuple[str, ...]) -> str | None:
    status = ctx.request.query_params.get("status", "")
    if status and status not in allowed:
        raise ValidationError(f"unknown status {status!r}", field="status")
    return status or None


def counts(model, column) -> dict[str, int]:
    return {row[0]: row[1] for row in model.select(column, fn.COUNT(model.id)).group_by(column).tuples()}


@page(auth="staff")
def overview(ctx: Ctx) -> Response:
    active = Suppression.select().where(Suppression.suppressed_at.is_null(False), Suppression.lifted_at.is_null())
    return ctx.render("staff/index.html", section="overview",
                      inbound=counts(InboundMessage, InboundMessage.status), outbound=outbox.counts(),
                      suppressed=active.count(), inbound_statuses=INBOUND_STATUSES, outbound_statuses=outbox.STATUSES,
                      pending=_open_questions(ctx).count())


@page(auth="staff")
def inbound_list(ctx: Ctx) -> Response:
    status = status_filter(ctx, INBOUND_STATUSES)
    query = InboundMessage.select(*[f for f in InboundMessage._meta.sorted_fields if f.name != "raw"])
    if status:
        query = query.where(InboundMessage.status == status)
    found = listing(query.order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()), ctx)
    return ctx.render("staff/inbound.html", section="inbound", listing=found, current=status,
                      statuses=INBOUND_STATUSES, counts=counts(InboundMessage, InboundMessage.status),
                      commands=commands_of)


def commands_of(message: InboundMessage) -> list[str]:
    """Commands understood in a message ("duplicate F2026-0042"), whatever shape the inbound side stored them in."""
    try:
        data = json.loads(message.commands or "[]")
    except ValueError:
        return [message.commands]
    items = data if isinstance(data, list) else [data]
    return [_command_text(item) if isinstance(item, dict) else str(item) for item in items]


def _command_text(item: dict[str, Any]) -> str:
    args = item.get("args") or []
    return " ".join([str(item.get("name") or item.get("command") or item), *map(str, args)])


@dataclass(frozen=True)
class StaffReading:
    """Which words of a message were read as which request, how surely, and what was not taken for one."""

    requests: list[dict[str, Any]]  # Intent.as_json(): name, args, confidence, decision, rule, words
    notes: list[Note]
    again: bool  # read again from the stored subject and reply with today's rules: the words were not stored


def reading_of(message: InboundMessage) -> StaffReading | None:
    """The reading of a message that people wrote (bounces and auto-replies are never read for requests)."""
    if message.kind not in ("message", "command") or message.reply_text is None:
        return None
    stored = _stored(message)
    if stored and all("words" in item for item in stored):
        return StaffReading(stored, [], False)
    reading = read_requests(message.subject or "", message.reply_text)
    names = {(str(i.get("name")), tuple(i.get("args") or ())) for i in stored}
    found = [i.as_json() for i in reading.intents if not names or (str(i.name), i.args) in names]
    return StaffReading(found, reading.notes, True)


def _stored(message: InboundMessage) -> list[dict[str, Any]]:
    try:
        data = json.loads(message.commands or "[]")
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def confirmations_of(message: InboundMessage) -> list[Confirmation]:
    """The questions this message led to, or answered."""
    query = Confirmation.select().where((Confirmation.inbound == message.id) | (Confirmation.answer == message.id))
    return list(query.order_by(Confirmation.id))


def _open_questions(ctx: Ctx):
    return Confirmation.select().where(Confirmation.status == confirmations.ConfirmationStatus.PENDING,
                                       Confirmation.expires_at > naive_utc(ctx.rt.now()))


@page(auth="staff")
def confirmation_list(ctx: Ctx) -> Response:
    """Questions asked back to people: the open ones, or (show=all) every one with how it ended."""
    show_all = ctx.request.query_params.get("show") == "all"
    query = Confirmation.select() if show_all else _open_questions(ctx)
    found = listing(query.order_by(Confirmation.created_at.desc(), Confirmation.id.desc()), ctx)
    return ctx.render("staff/confirmations.html", section="confirmations", listing=found, show_all=show_all,
                      status_of=lambda c: confirmations.effective_status(c, ctx.rt.now()),
                      asked=confirmations.asked)


@page(auth="staff")
def inbound_detail(ctx: Ctx) -> Response:
    message = support.inbound_message(ctx.request.path_params["message_id"])
    return _detail(ctx, message, None)


def _detail(ctx: Ctx, message: InboundMessage, error: str | None, status: int = 200) -> Response:
    return ctx.render("staff/inbound_detail.html", status, section="inbound", message=message,
                      commands=commands_of(message), pretty=_pretty(message.commands), error=error,
                      reading=reading_of(message), questions=confirmations_of(message),
                      status_of=lambda c: confirmations.effective_status(c, ctx.rt.now()),
                      asked=confirmations.asked, mentioned=mentions.of_message(message.id),
                      answer_to=_answer_to(message), auth=authentication_of(message))


def authentication_of(message: InboundMessage) -> dict[str, Any] | None:
    """What DKIM, SPF and DMARC showed (inbound/authentication.py), as stored when it was processed."""
    try:
        found = json.loads(message.authentication or "null")
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _answer_to(message: InboundMessage):
    """Who an answer goes to: the account of the sender, or a stand-in in the language guessed for them."""
    return support.recipient(message, message.from_addr) if message.from_addr else None


def _pretty(text: str | None) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False) if text else ""
    except ValueError:
        return text or ""


@page(auth="staff")
def inbound_raw(ctx: Ctx) -> Response:
    message = support.inbound_message(ctx.request.path_params["message_id"])
    if message.raw is None:
        raise NotFound("the raw message was purged after the retention period")
    name = f"inbound-{message.id}.eml.txt"
    return Response(bytes(message.raw), media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@page(auth="staff")
def inbound_reprocess(ctx: Ctx) -> Response:
    message_id = ctx.request.path_params["message_id"]
    support.reprocess(ctx.rt, message_id, actor(ctx))
    return ctx.redirect(f"/staff/inbound/{message_id}", ctx._("The message is being processed again."))


@page(auth="staff")
def inbound_answer(ctx: Ctx) -> Response:
    message_id = ctx.request.path_params["message_id"]
    try:
        row = support.answer(ctx.rt, message_id, ctx.field("body"), actor(ctx), ctx.field("language"))
    except ValidationError as exc:
        return _detail(ctx, support.inbound_message(message_id), exc.message, 400)
    return ctx.redirect(f"/staff/inbound/{message_id}", ctx._("Your answer to %(email)s is in the outbox.",
                                                              email=row.recipient))


@page(auth="staff")
def outbound_list(ctx: Ctx) -> Response:
    status = status_filter(ctx, outbox.STATUSES)
    query = Outbox.select(*[f for f in Outbox._meta.sorted_fields if f.name != "raw"])
    if status:
        query = query.where(Outbox.status == status)
    found = listing(query.order_by(Outbox.created_at.desc(), Outbox.id.desc()), ctx)
    return ctx.render("staff/outbound.html", section="outbound", listing=found, current=status,
                      statuses=outbox.STATUSES, counts=outbox.counts(), retryable=RETRYABLE)


@page(auth="staff")
def outbound_retry(ctx: Ctx) -> Response:
    row_id = ctx.request.path_params["outbox_id"]
    if not outbox.requeue(row_id, ctx.rt.now()):
        return ctx.redirect("/staff/outbound", ctx._("This mail cannot be retried (it is not failed, deferred "
                                                     "or suppressed)."), kind="error")
    audit.record(ctx.rt, actor(ctx), "outbox.retry", str(row_id))
    return ctx.redirect("/staff/outbound", ctx._("The mail is queued again."))


@page(auth="staff")
def bounces(ctx: Ctx) -> Response:
    show_all = ctx.request.query_params.get("show") == "all"
    query = Suppression.select()
    if not show_all:
        query = query.where(Suppression.suppressed_at.is_null(False), Suppression.lifted_at.is_null())
    found = listing(query.order_by(Suppression.last_bounce_at.desc(nulls="last"), Suppression.id.desc()), ctx)
    bounced = (Outbox.select(Outbox.id, Outbox.recipient, Outbox.kind, Outbox.bounced_at, Outbox.last_response)
               .where(Outbox.bounced_at.is_null(False)).order_by(Outbox.bounced_at.desc()).limit(20))
    return ctx.render("staff/bounces.html", section="bounces", listing=found, show_all=show_all,
                      bounced=list(bounced))


@page(auth="staff")
def lift(ctx: Ctx) -> Response:
    row = support.lift_suppression(ctx.rt, ctx.request.path_params["suppression_id"], actor(ctx))
    return ctx.redirect("/staff/bounces", ctx._("%(email)s will be mailed again.", email=row.email))


routes = [
    Route("/staff", overview, methods=["GET"]),
    Route("/staff/inbound", inbound_list, methods=["GET"]),
    Route("/staff/inbound/{message_id:int}", inbound_detail, methods=["GET"]),
    Route("/staff/inbound/{message_id:int}/raw", inbound_raw, methods=["GET"]),
    Route("/staff/inbound/{message_id:int}/reprocess", inbound_reprocess, methods=["POST"]),
    Route("/staff/inbound/{message_id:int}/answer", inbound_answer, methods=["POST"]),
    Route("/staff/outbound", outbound_list, methods=["GET"]),
    Route("/staff/outbound/{outbox_id:int}/retry", outbound_retry, methods=["POST"]),
    Route("/staff/bounces", bounces, methods=["GET"]),
    Route("/staff/confirmations", confirmation_list, methods=["GET"]),
    Route("/staff/suppressions/{suppression_id:int}/lift", lift, methods=["POST"]),
]
