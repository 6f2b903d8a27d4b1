"""Paperless delivery: sign up with a customer number and code, redeem a code, opt out, opt back in."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailflow import actions, activation
from mailflow.accounts import Person
from mailflow.errors import NotFound, RateLimited, TokenError, ValidationError
from mailflow.models import ActivationCode, Customer
from mailflow.web.context import N_, Ctx, page
from mailflow.web.sharing import FORM_ERRORS, owned

REASONS = {
    "mistyped": N_("This code has a typing mistake. Check each character: codes look like 7KQ4-M2ZD-9HXA."),
    "unknown": N_("This code does not exist. Check that you typed the latest code you received."),
    "not_yours": N_("This customer number already has a primary contact in the portal. Ask them to share its "
                    "documents with you."),
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


@page(auth=None)
def activation_page(ctx: Ctx) -> Response:
    return _show(ctx) if ctx.user else _signup_form(ctx)


@page(auth=None)
def redeem(ctx: Ctx) -> Response:
    if ctx.user is None:
        return sign_up(ctx)
    try:
        customer = activation.redeem(ctx.rt, ctx.user, ctx.field("code"))
    except RateLimited:
        return _show(ctx, 429, ctx._("Too many attempts. Please wait an hour before trying another code."))
    except TokenError as exc:
        return _show(ctx, 400, ctx._(REASONS.get(exc.reason, REASONS["unknown"])))
    return ctx.redirect("/activation", ctx._("%(number)s now receives its documents electronically, no longer "
                                             "on paper.", number=customer.number))


SIGNUP_FIELDS = ("customer", "code", "email", "first_name", "last_name")


def _signup_form(ctx: Ctx, status: int = 200, error: str | None = None) -> Response:
    values = {name: ctx.field(name) for name in SIGNUP_FIELDS if name != "code"}
    return ctx.render("signup.html", status, error=error, values=values)


def sign_up(ctx: Ctx) -> Response:
    """A new user: the customer number and code of their letter, and their address; a login link follows."""
    person = Person(ctx.field("email"), ctx.field("first_name"), ctx.field("last_name"), ctx.language)
    try:
        user, customer = activation.sign_up(ctx.rt, ctx.field("customer"), ctx.field("code"), person, ctx.client_ip)
    except RateLimited:
        return _signup_form(ctx, 429, ctx._("Too many attempts from your network. Please wait an hour."))
    except TokenError as exc:
        return _signup_form(ctx, 400, ctx._(SIGNUP_REASONS.get(exc.reason, SIGNUP_REASONS["unknown"])))
    except ValidationError as exc:
        return _signup_form(ctx, 400, ctx._(FORM_ERRORS.get(exc.field or "", FORM_ERRORS["email"])))
    actions.login_link(ctx.rt, user, ctx.client_ip)  # the account is theirs once they open it
    return ctx.redirect("/login", ctx._("%(number)s now receives its documents electronically. We sent a login "
                                        "link to %(email)s: open it to see your documents.",
                                        number=customer.number, email=user.email))


SIGNUP_REASONS = REASONS | {  # logged out, the reasons speak to someone who may not have an account yet
    "unknown": N_("This customer number and code do not belong together. Check both on your letter: the customer "
                  "number starts with DL, the code looks like 7KQ4-M2ZD-9HXA."),
    "already_active": N_("This customer number already receives its documents electronically. Log in with your "
                         "email address to see them."),
    "used": N_("This code has already been used. Log in with your email address to see your documents."),
}


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
