"""Change of address pages: confirm from the new mailbox, undo from the old one, name a bounced contact's new one."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailflow import address_change
from mailflow.errors import Conflict, MailflowError, NotFound, RateLimited, TokenError, ValidationError
from mailflow.models import Access, Customer, User
from mailflow.web import sessions
from mailflow.web.context import N_, Ctx, page

PROBLEMS = {
    "used": N_("This link has already been used. Each link works once."),
    "expired": N_("This link has expired. You can ask for the change again in your settings."),
    "superseded": N_("A newer change of address was asked for, or the address changed meanwhile: this link no "
                     "longer works."),
}
UNDO_EXPIRED = N_("The time to undo this change has passed. If your account was changed without you, please "
                  "contact us by replying to any of our mails.")


def request_error(ctx: Ctx, exc: MailflowError) -> str:
    """Why a change of address was refused, in words for the person who asked."""
    if isinstance(exc, Conflict):
        return ctx._("An account with this address already exists: one address has one account. To bring the "
                     "two together, ask us to merge them by replying to any of our mails.")
    if isinstance(exc, RateLimited):
        return ctx._("Too many changes of address were asked for this account today. Please try again tomorrow.")
    if exc.field == "email_unchanged":
        return ctx._("This is already the address of the account.")
    return ctx._("Enter a valid email address, such as name@company.be.")


def requested(ctx: Ctx, new: str, old: str) -> str:
    return ctx._("We sent a link to %(email)s. The address changes once it is opened there; until then we keep "
                 "writing to %(old)s.", email=new, old=old)


def _as_holder(ctx: Ctx) -> None:
    """Pages about a mailed link speak the language of the person it was mailed to, not the browser's."""
    user = address_change.holder(ctx.request.path_params["token"])
    ctx.language = user.language if user else ctx.language


def _problem(ctx: Ctx, exc: TokenError, expired: str = PROBLEMS["expired"]) -> Response:
    _as_holder(ctx)
    message = expired if exc.reason == "expired" else PROBLEMS.get(
        exc.reason, N_("This link is not valid. Check that it was copied completely."))
    return ctx.render("error.html", 410, title=ctx._("Link no longer valid"), message=ctx._(message))


def _taken(ctx: Ctx) -> Response:
    _as_holder(ctx)
    return ctx.render("error.html", 409, title=ctx._("Already exists"), message=request_error(
        ctx, Conflict(address_change.TAKEN)))


@page(auth=None)
def confirm_page(ctx: Ctx) -> Response:
    raw = ctx.request.path_params["token"]
    try:
        change = address_change.peek(ctx.rt, raw)
    except TokenError as exc:
        return _problem(ctx, exc)
    _as_holder(ctx)
    return ctx.render("address_confirm.html", change=change, token=raw, undo=False)


@page(auth=None)
def confirm(ctx: Ctx) -> Response:
    try:
        user = address_change.confirm(ctx.rt, ctx.request.path_params["token"])
    except TokenError as exc:
        return _problem(ctx, exc)
    except Conflict:
        return _taken(ctx)
    _log_in(ctx, user)  # opening the link proves this person reads the new mailbox, as a login link does
    return ctx.redirect("/settings", ctx._("Your email address is now %(email)s.", email=user.email))


@page(auth=None)
def undo_page(ctx: Ctx) -> Response:
    raw = ctx.request.path_params["token"]
    try:
        change = address_change.peek_undo(ctx.rt, raw)
    except TokenError as exc:
        return _problem(ctx, exc, UNDO_EXPIRED)
    _as_holder(ctx)
    return ctx.render("address_confirm.html", change=change, token=raw, undo=True)


@page(auth=None)
def undo(ctx: Ctx) -> Response:
    try:
        user = address_change.undo(ctx.rt, ctx.request.path_params["token"])
    except TokenError as exc:
        return _problem(ctx, exc, UNDO_EXPIRED)
    except Conflict:
        return _taken(ctx)
    _log_in(ctx, user)
    return ctx.redirect("/settings", ctx._("Your email address is %(email)s again; everyone logged in with the "
                                           "other address was logged out.", email=user.email))


def _log_in(ctx: Ctx, user: User) -> None:
    session, raw = sessions.start(ctx.rt, user, previous=ctx.session)
    ctx.session = session
    ctx.cookies.append((ctx.web.session_cookie, raw, None))
    ctx.language = user.language


def _bounced_customer(ctx: Ctx) -> Customer:
    """A customer number the visitor is a shared user of; any other is simply not found."""
    customer = (Customer.select().join(Access, on=(Access.customer == Customer.id))
                .where(Customer.id == ctx.request.path_params["customer_id"], Access.user == ctx.user,
                       Access.role == "shared").first())
    if customer is None:
        raise NotFound("no such customer number of yours")
    return customer


def _show_contact(ctx: Ctx, customer: Customer, status: int = 200, error: str | None = None,
                  value: str = "") -> Response:
    dead = bool(address_change.dead_primaries(customer))
    return ctx.render("primary_contact.html", status, customer=customer, primary=customer.primary_user,
                      dead=dead, error=error, value=value)


@page()
def contact_page(ctx: Ctx) -> Response:
    return _show_contact(ctx, _bounced_customer(ctx))


@page()
def suggest(ctx: Ctx) -> Response:
    customer = _bounced_customer(ctx)
    value = ctx.field("email")
    if not address_change.dead_primaries(customer):
        return ctx.redirect(f"/primary-contact/{customer.id}")
    try:
        address_change.suggest(ctx.rt, customer.primary_user, value, ctx.user)
    except (ValidationError, Conflict, RateLimited) as exc:
        return _show_contact(ctx, customer, exc.http_status, _suggest_error(ctx, exc), value)
    return ctx.redirect("/documents", ctx._("Thank you. Our support team will send %(email)s a link to confirm "
                                            "it.", email=value.strip().lower()))


def _suggest_error(ctx: Ctx, exc: MailflowError) -> str:
    if isinstance(exc, Conflict):  # the address has an account: staff merge, no one else learns whose
        return ctx._("We cannot use this address for your contact's account. Please reply to any of our mails "
                     "to tell our support team.")
    return request_error(ctx, exc)


routes = [
    Route("/address/{token}", confirm_page, methods=["GET"]),
    Route("/address/{token}", confirm, methods=["POST"]),
    Route("/address/undo/{token}", undo_page, methods=["GET"]),
    Route("/address/undo/{token}", undo, methods=["POST"]),
    Route("/primary-contact/{customer_id:int}", contact_page, methods=["GET"]),
    Route("/primary-contact/{customer_id:int}", suggest, methods=["POST"]),
]
