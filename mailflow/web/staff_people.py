"""Staff console, people side: search customers and users, invitations, activation codes, merging accounts."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailflow import accounts, actions, activation, address_change
from mailflow.account_merge import merge
from mailflow.errors import MailflowError, NotFound, ValidationError
from mailflow.inbound import mentions
from mailflow.models import Access, Customer, Session, Share, Suppression, User
from mailflow.web import sessions
from mailflow.web.address import request_error, requested
from mailflow.web.context import Ctx, page
from mailflow.web.staff_mail import actor

LIMIT = 50


def search_customers(text: str) -> list[Customer]:
    query = Customer.select()
    if text:
        query = query.where(Customer.number.contains(text) | Customer.company.contains(text)
                            | Customer.enterprise_number.contains(text))
    return list(query.order_by(Customer.number).limit(LIMIT))


def search_users(text: str) -> list[User]:
    query = User.select()
    if text:
        query = query.where(User.email.contains(text) | User.first_name.contains(text)
                            | User.last_name.contains(text))
    return list(query.order_by(User.email).limit(LIMIT))


@page(auth="staff")
def people(ctx: Ctx) -> Response:
    text = ctx.request.query_params.get("q", "").strip()[:100]
    return ctx.render("staff/people.html", section="people", q=text, customers=search_customers(text),
                      users=search_users(text), codes={}, dead=address_change.dead_primaries())


def _user(ctx: Ctx) -> User:
    user = User.get_or_none(User.id == ctx.request.path_params["user_id"])
    if user is None:
        raise NotFound("no such user")
    return user


@page(auth="staff")
def user_detail(ctx: Ctx) -> Response:
    user = _user(ctx)
    accesses = list(Access.select().join(Customer).where(Access.user == user).order_by(Customer.number))
    shared_with = list(User.select().join(Share, on=(Share.user == User.id)).where(Share.owner == user))
    live = Session.select().where(Session.user == user, Session.revoked_at.is_null(),
                                  Session.expires_at > ctx.rt.now().replace(tzinfo=None)).count()
    return ctx.render("staff/user.html", section="people", person=user, accesses=accesses,
                      shared_with=shared_with, live_sessions=live, suppressed=_suppressed(user),
                      changes=address_change.history(user), suggested=address_change.suggestions(user),
                      messages=mentions.messages_about([a.customer_id for a in accesses]))


def _suppressed(user: User) -> Suppression | None:
    """The address's suppression while it lasts: mail to this person is not delivered."""
    return Suppression.get_or_none(Suppression.email == user.email, Suppression.suppressed_at.is_null(False),
                                   Suppression.lifted_at.is_null())


@page(auth="staff")
def change_email(ctx: Ctx) -> Response:
    """A new address for someone, confirmed from that mailbox: staff cannot tell who is on the phone."""
    user = _user(ctx)
    if user.merged_into_id:
        raise ValidationError("this account was merged into another; change that one")
    try:
        change = address_change.request(ctx.rt, user, ctx.field("email"), actor(ctx))
    except MailflowError as exc:
        return ctx.redirect(f"/staff/users/{user.id}", request_error(ctx, exc), kind="error")
    return ctx.redirect(f"/staff/users/{user.id}", requested(ctx, change.new_email, change.old_email))


@page(auth="staff")
def resend_invitation(ctx: Ctx) -> Response:
    user = _user(ctx)
    if user.merged_into_id:
        raise ValidationError("this account was merged into another; invite that one")
    actions.resend_invitation(ctx.rt, user, actor=actor(ctx))
    return ctx.redirect(f"/staff/users/{user.id}", ctx._("A new invitation is on its way to %(email)s.",
                                                         email=user.email))


@page(auth="staff")
def revoke_sessions(ctx: Ctx) -> Response:
    user = _user(ctx)
    count = sessions.revoke_all(ctx.rt, user)
    return ctx.redirect(f"/staff/users/{user.id}", ctx._("%(count)s session(s) ended.", count=count))


@page(auth="staff")
def issue_code(ctx: Ctx) -> Response:
    customer = Customer.get_or_none(Customer.id == ctx.request.path_params["customer_id"])
    if customer is None:
        raise NotFound("no such customer number")
    code = activation.issue(ctx.rt, customer, actor=actor(ctx))
    latest = activation.latest(customer)
    return ctx.render("staff/code.html", section="people", customer=customer, code=code, row=latest)


def _pair(ctx: Ctx, source) -> tuple[User, User]:
    """The account to keep and the one to merge into it, named by address."""
    found = []
    for name in ("keep", "other"):
        user = accounts.find_user(str(source.get(name, "")))
        if user is None:
            raise ValidationError(f"no account with the address {source.get(name, '')!r}", field=name)
        found.append(user)
    return found[0], found[1]


@page(auth="staff")
def merge_confirm(ctx: Ctx) -> Response:
    try:
        keep, other = _pair(ctx, ctx.request.query_params)
        if keep.id == other.id or keep.merged_into_id or other.merged_into_id:
            raise ValidationError("choose two different accounts that were not merged before")
    except ValidationError as exc:
        return ctx.redirect("/staff/people", exc.message, kind="error")
    return ctx.render("staff/merge.html", section="people", keep=keep, other=other,
                      access={u.id: _numbers(u) for u in (keep, other)})


def _numbers(user: User) -> list[str]:
    return [f"{a.customer.number} ({a.role})" for a in Access.select().join(Customer).where(Access.user == user)
            .order_by(Customer.number)]


@page(auth="staff")
def merge_accounts(ctx: Ctx) -> Response:
    try:
        keep, other = _pair(ctx, ctx.form)
        merge(ctx.rt, keep, other, actor(ctx))
    except ValidationError as exc:
        return ctx.redirect("/staff/people", exc.message, kind="error")
    return ctx.redirect(f"/staff/users/{keep.id}", ctx._("%(other)s was merged into %(keep)s.",
                                                         other=other.email, keep=keep.email))


routes = [
    Route("/staff/people", people, methods=["GET"]),
    Route("/staff/users/{user_id:int}", user_detail, methods=["GET"]),
    Route("/staff/users/{user_id:int}/invitation", resend_invitation, methods=["POST"]),
    Route("/staff/users/{user_id:int}/sessions/revoke", revoke_sessions, methods=["POST"]),
    Route("/staff/users/{user_id:int}/email", change_email, methods=["POST"]),
    Route("/staff/customers/{customer_id:int}/activation-code", issue_code, methods=["POST"]),
    Route("/staff/merge", merge_confirm, methods=["GET"]),
    Route("/staff/merge", merge_accounts, methods=["POST"]),
]
