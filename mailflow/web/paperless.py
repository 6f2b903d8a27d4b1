"""Paperless delivery: redeem an activation code, opt out, opt back in with the latest code."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailflow import activation
from mailflow.errors import NotFound, RateLimited, TokenError
from mailflow.models import ActivationCode, Customer
from mailflow.web.context import N_, Ctx, page
from mailflow.web.sharing import owned

REASONS = {
    "mistyped": N_("This code has a typing mistake. Check each character: codes look like 7KQ4-M2ZD-9HXA."),
    "unknown": N_("This code does not exist. Check that you typed the latest code you received."),
    "not_yours": N_("This code is for a customer number of which you are not the primary contact."),
    "superseded": N_("A newer code was issued for this customer number. Use the latest code you received."),
    "expired": N_("This code has expired: codes are valid for 15 weeks after they are issued."),
    "used": N_("This code has already been used."),
    "already_active": N_("This customer number already receives its documents electronically."),
}


def _latest_codes(customers: list[Customer]) -> dict[int, ActivationCode]:
    found = {}
    for customer in customers:
        code = activation.latest(customer)
        if code is not None:
            found[customer.id] = code
    return found


def _show(ctx: Ctx, status: int = 200, error: str | None = None) -> Response:
    customers = owned(ctx.user)
    return ctx.render("activation.html", status, customers=customers, codes=_latest_codes(customers),
                      error=error, now=ctx.rt.now().replace(tzinfo=None))


@page()
def activation_page(ctx: Ctx) -> Response:
    return _show(ctx)


@page()
def redeem(ctx: Ctx) -> Response:
    try:
        customer = activation.redeem(ctx.rt, ctx.user, ctx.field("code"))
    except RateLimited:
        return _show(ctx, 429, ctx._("Too many attempts. Please wait an hour before trying another code."))
    except TokenError as exc:
        return _show(ctx, 400, ctx._(REASONS.get(exc.reason, REASONS["unknown"])))
    return ctx.redirect("/activation", ctx._("%(number)s now receives its documents electronically, no longer "
                                             "on paper.", number=customer.number))


@page()
def opt_out(ctx: Ctx) -> Response:
    customer = Customer.get_or_none(Customer.id == ctx.request.path_params["customer_id"],
                                    Customer.primary_user == ctx.user)
    if customer is None:
        raise NotFound("no such customer number of yours")
    activation.opt_out(ctx.rt, ctx.user, customer)
    return ctx.redirect("/activation", ctx._("%(number)s is back on paper. To receive its documents "
                                             "electronically again, enter the latest code you received.",
                                             number=customer.number))


routes = [
    Route("/activation", activation_page, methods=["GET"]),
    Route("/activation", redeem, methods=["POST"]),
    Route("/activation/{customer_id:int}/opt-out", opt_out, methods=["POST"]),
]
