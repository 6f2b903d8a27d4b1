"""Magic-link login: ask for a link, confirm it (GET changes nothing), use it once (POST), log out."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailflow import login_requests, tokens, validation
from mailflow.account_merge import account_of
from mailflow.clock import naive_utc
from mailflow.errors import RateLimited, TokenError, ValidationError
from mailflow.models import User
from mailflow.runtime import Runtime
from mailflow.web import sessions
from mailflow.web.context import Ctx, page


NEXT_COOKIE = "mailflow_next"
NEXT_SECONDS = 3600  # the page asked for is remembered while its login link is on its way


def local_path(value: str | None) -> str | None:
    """`value` if it is a path of this site ("/primary-contact/7?x=1"), else None: never another host."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or len(value) > 500:
        return None
    return value if value.isprintable() and "\\" not in value else None


def landing(user: User, wanted: str | None) -> str:
    """Where a login ends: the page the person was sent to, else staff's console or the documents."""
    return local_path(wanted) or ("/staff" if user.is_staff else "/documents")


@page(auth=None)
def login_form(ctx: Ctx) -> Response:
    wanted = local_path(ctx.request.query_params.get("next"))
    if ctx.user is not None:
        return RedirectResponse(landing(ctx.user, wanted), status_code=303)
    return ctx.render("login.html", email="", next=wanted or "")


@page(auth=None)
def login_submit(ctx: Ctx) -> Response:
    email, wanted = ctx.field("email"), local_path(ctx.field("next"))
    try:
        address = validation.email_address(email)
    except ValidationError:
        return ctx.render("login.html", 400, email=email, next=wanted or "",
                          error=ctx._("Please enter a valid email address, such as name@company.be."))
    try:
        login_requests.ask(ctx.rt, address, ctx.client_ip)  # committed with this answer, mailed by the worker
    except RateLimited:
        return ctx.render("login.html", 429, email="", next=wanted or "",
                          error=ctx._("Too many login requests from your network. Please try again in an hour."))
    if wanted:  # this browser goes there once the mailed link is used in it
        ctx.cookies.append((NEXT_COOKIE, wanted, NEXT_SECONDS))
    return ctx.render("login_sent.html")


@page(auth=None)
def confirm(ctx: Ctx) -> Response:
    raw = ctx.request.path_params["token"]
    try:
        token = tokens.peek(raw, ctx.rt.now())
    except TokenError as exc:
        return _link_problem(ctx, exc)
    account = account_of(token.user)
    ctx.language = account.language  # the link was mailed to this person: their language, not the browser's
    return ctx.render("auth_confirm.html", token=raw, account=account, invitation=token.purpose == "invitation")


@page(auth=None)
def consume(ctx: Ctx) -> Response:
    try:
        with ctx.rt.db.atomic():
            token = tokens.consume(ctx.request.path_params["token"], ctx.rt.now())
            user = account_of(token.user)
            first_time = user.activated_at is None
            _activate(ctx.rt, user)
            session, raw = sessions.start(ctx.rt, user, previous=ctx.session)
    except TokenError as exc:
        return _link_problem(ctx, exc)
    ctx.session = session
    ctx.cookies.append((ctx.web.session_cookie, raw, None))
    ctx.language = user.language
    welcome = (ctx._("Welcome, %(name)s. Your account is active.", name=user.first_name or user.email)
               if first_time else ctx._("Welcome back, %(name)s.", name=user.first_name or user.email))
    wanted = ctx.request.cookies.get(NEXT_COOKIE)
    if wanted:
        ctx.cookies.append((NEXT_COOKIE, None, None))
    return ctx.redirect(landing(user, wanted), welcome)


def _activate(rt: Runtime, user: User) -> None:
    # An invitation and a login link prove the same thing: this person reads this mailbox.
    if user.activated_at is None:
        User.update(activated_at=naive_utc(rt.now())).where(User.id == user.id).execute()


def _link_problem(ctx: Ctx, exc: TokenError) -> Response:
    reasons = {"used": ctx._("This link has already been used. Each link works once."),
               "expired": ctx._("This link has expired."),
               "superseded": ctx._("A newer link was sent; this one no longer works.")}
    message = reasons.get(exc.reason, ctx._("This link is not valid. Check that it was copied completely."))
    return ctx.render("login.html", 410, email="", problem=message)


@page(auth="user")
def logout(ctx: Ctx) -> Response:
    sessions.revoke(ctx.rt, ctx.session)
    ctx.cookies.append((ctx.web.session_cookie, None, None))
    message = ctx._("You are logged out.")
    ctx.session = None
    return ctx.redirect("/login", message)


async def home(request) -> Response:
    return RedirectResponse("/documents", status_code=303)


routes = [
    Route("/", home),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/auth/{token}", confirm, methods=["GET"]),
    Route("/auth/{token}", consume, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
