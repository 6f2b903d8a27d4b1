"""Unsubscribe links of notification mails: a confirm page, and RFC 8058 one-click POSTs."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailflow import actions
from mailflow.account_merge import account_of
from mailflow.errors import TokenError
from mailflow.models import Customer, User
from mailflow.signing import ReplyClaim, today_utc
from mailflow.web.context import Ctx, page

ONE_CLICK = "One-Click"


def _claim(ctx: Ctx) -> tuple[User, Customer | None]:
    """The person and customer number the signed token names; TokenError for anything else."""
    claim: ReplyClaim = ctx.rt.signer.read_reply_token(ctx.request.path_params["token"], today_utc(ctx.rt.now()))
    user = User.get_or_none(User.id == claim.user_id)
    if claim.purpose != "unsubscribe" or user is None:
        raise TokenError("this link is not valid", reason="invalid")
    customer = Customer.get_or_none(Customer.id == claim.customer_id) if claim.customer_id else None
    return account_of(user), customer


def _problem(ctx: Ctx) -> Response:
    return ctx.render("unsubscribe.html", 410, state="invalid", account=None, customer=None)


@page(auth=None)
def confirm(ctx: Ctx) -> Response:
    try:
        user, customer = _claim(ctx)
    except TokenError:
        return _problem(ctx)
    ctx.language = user.language
    return ctx.render("unsubscribe.html", state="confirm", account=user, customer=customer,
                      token=ctx.request.path_params["token"])


# No CSRF check: mailbox providers POST this without any session; the signed token is the authority.
@page(auth=None, csrf=False)
def one_click(ctx: Ctx) -> Response:
    try:
        user, customer = _claim(ctx)
    except TokenError:
        return _problem(ctx)
    ctx.language = user.language
    if ctx.field("List-Unsubscribe") != ONE_CLICK:
        return ctx.render("unsubscribe.html", 400, state="bad_request", account=user, customer=customer)
    actions.set_frequency(ctx.rt, user, "off", customer, actor=f"unsubscribe:{user.email}")
    return ctx.render("unsubscribe.html", state="done", account=user, customer=customer)


routes = [
    Route("/unsubscribe/{token}", confirm, methods=["GET"]),
    Route("/unsubscribe/{token}", one_click, methods=["POST"]),
]
