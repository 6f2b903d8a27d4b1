"""One request as a page handler sees it: runtime, session and user, language, form, CSRF, cookies, flash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from functools import wraps
from urllib.parse import urlencode
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from markupsafe import Markup, escape

from mailflow.db import retrying, thread_connection
from mailflow import i18n, issuers
from mailflow.issuers import Face
from mailflow.outbound import mails
from mailflow.config import secret_key
from mailflow.errors import MailflowError, PermissionDenied, StorageError
from mailflow.models import Customer, Session, User
from mailflow.runtime import Runtime
from mailflow.web import sessions
from mailflow.web.templating import N_, UI_LANGUAGES, Pages

log = logging.getLogger(__name__)

LANG_COOKIE = "mailflow_lang"
CSRF_COOKIE = "mailflow_csrf"
FLASH_COOKIE = "mailflow_flash"
CSRF_FIELD = "csrf_token"
WEB_RETRIES = 1  # each attempt already waits [database] busy_timeout_seconds: a person should not wait more


@dataclass
class WebState:
    """What every request shares; built once by create_app from the runtime."""

    rt: Runtime
    pages: Pages
    flash_key: bytes
    secure: bool

    @classmethod
    def of(cls, rt: Runtime) -> "WebState":
        key = hmac.new(secret_key(rt.config), b"mailflow web flash", hashlib.sha256).digest()
        return cls(rt, Pages(rt.config.scheduler.timezone), key, rt.config.web.base_url.startswith("https://"))

    @property
    def session_cookie(self) -> str:
        # __Host- cookies are refused by browsers unless Secure, Path=/ and host-only: no subdomain can plant one
        return "__Host-mailflow_session" if self.secure else "mailflow_session"

    @property
    def csrf_cookie(self) -> str:
        # the anonymous form token too: a sibling subdomain that could plant it could log a visitor in as itself
        return f"__Host-{CSRF_COOKIE}" if self.secure else CSRF_COOKIE


@dataclass
class Ctx:
    web: WebState
    request: Request
    form: FormData
    session: Session | None
    language: str
    anon_csrf: str
    flash: dict[str, str] | None = None
    cookies: list[tuple[str, str | None, int | None]] = field(default_factory=list)

    @property
    def rt(self) -> Runtime:
        return self.web.rt

    @property
    def user(self) -> User | None:
        return self.session.user if self.session else None

    @property
    def csrf(self) -> str:
        return self.session.csrf_token if self.session else self.anon_csrf

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def _(self, message: str, **values: object) -> str:
        return i18n.gettext(self.language, message, **values)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name, default)
        return value.strip() if isinstance(value, str) else default

    @property
    def face(self) -> Face:
        """Pages wear the face of the issuer of the visitor's first customer number, as their mails do."""
        return mails.own_face(self.rt, self.user) if self.user else issuers.default_face(self.rt.config)

    def render(self, name: str, status: int = 200, **context: Any) -> Response:
        base = {"ctx": self, "user": self.user, "csrf": self.csrf, "flash": self.flash,
                "nav": navigation(self.user), "path": self.request.url.path, **face_context(self.face)}
        response = self.web.pages.response(name, self.language, status, **(base | context))
        response.headers["Cache-Control"] = "no-store"
        return response

    def redirect(self, path: str, message: str | None = None, kind: str = "ok") -> Response:
        if message:
            self.cookies.append((FLASH_COOKIE, sign_flash(self.web.flash_key, kind, message), 60))
        return RedirectResponse(path, status_code=303)


def face_context(face: Face) -> dict[str, Any]:
    address = escape(face.support_address)
    return {"face": face, "brand": face.name, "support_link": Markup(f'<a href="mailto:{address}">{address}</a>')}


def navigation(user: User | None) -> dict[str, bool]:
    if user is None:
        return {}
    primary = Customer.select().where(Customer.primary_user == user).exists()
    return {"sharing": primary, "activation": primary, "staff": bool(user.is_staff)}


def sign_flash(key: bytes, kind: str, text: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).decode()
    return f"{body}.{hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]}"


def read_flash(key: bytes, value: str | None) -> dict[str, str] | None:
    body, _, mac = (value or "").partition(".")
    if not body or not hmac.compare_digest(mac, hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return {"kind": str(data.get("kind", "ok")), "text": str(data.get("text", ""))}


def negotiate(header: str) -> str | None:
    """The first language of Accept-Language the viewer speaks, by quality."""
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            ranked.append((-float(quality), position, tag.strip().lower()[:2]))
        except ValueError:
            continue
    return next((tag for _, _, tag in sorted(ranked) if tag in UI_LANGUAGES), None)


def pick_language(request: Request, user: User | None) -> tuple[str, str | None]:
    """(language, value for the language cookie when the visitor just chose one)."""
    chosen = request.query_params.get("lang", "")
    if user is not None:
        return i18n.language(user.language), None
    if chosen in UI_LANGUAGES:
        return chosen, chosen
    remembered = request.cookies.get(LANG_COOKIE, "")
    if remembered in UI_LANGUAGES:
        return remembered, None
    return negotiate(request.headers.get("accept-language", "")) or i18n.DEFAULT_LANGUAGE, None


def build(web: WebState, request: Request, form: FormData) -> Ctx:
    session = sessions.load(web.rt, request.cookies.get(web.session_cookie))
    language, remember = pick_language(request, session.user if session else None)
    anon = request.cookies.get(web.csrf_cookie, "")
    ctx = Ctx(web, request, form, session, language, anon if 20 <= len(anon) <= 100 else "")
    if not ctx.anon_csrf and session is None:
        ctx.anon_csrf = secrets.token_urlsafe(24)
        ctx.cookies.append((web.csrf_cookie, ctx.anon_csrf, None))
    if remember:
        ctx.cookies.append((LANG_COOKIE, remember, 365 * 86400))
    if FLASH_COOKIE in request.cookies:
        ctx.flash = read_flash(web.flash_key, request.cookies[FLASH_COOKIE])
        ctx.cookies.append((FLASH_COOKIE, None, None))
    return ctx


def csrf_ok(ctx: Ctx) -> bool:
    sent = ctx.form.get(CSRF_FIELD, "")
    expected = ctx.csrf
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


def apply_cookies(ctx: Ctx, response: Response) -> None:
    for name, value, max_age in ctx.cookies:
        if value is None:
            response.delete_cookie(name, path="/", secure=ctx.web.secure, httponly=True, samesite="lax")
        else:
            response.set_cookie(name, value, max_age=max_age, path="/", secure=ctx.web.secure, httponly=True,
                                samesite="lax")


def login_redirect(ctx: Ctx) -> Response:
    """To the login page, which brings the person back here afterwards (a page asked for, never a form's POST)."""
    if ctx.request.method != "GET":
        return RedirectResponse("/login", status_code=303)
    query = f"?{ctx.request.url.query}" if ctx.request.url.query else ""
    return RedirectResponse(f"/login?{urlencode({'next': ctx.request.url.path + query})}", status_code=303)


Handler = Callable[[Ctx], Response]


def page(auth: str | None = "user", csrf: bool = True) -> Callable[[Handler], Callable]:
    """Turn `handler(ctx) -> Response` into a Starlette endpoint: form read, database work in a thread."""
    def decorate(handler: Handler) -> Callable:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            web: WebState = request.app.state.web
            if request.method == "POST":
                async with request.form(max_files=0, max_fields=500) as form:
                    return await run_in_threadpool(_run, handler, web, request, form, auth, csrf)
            return await run_in_threadpool(_run, handler, web, request, FormData(), auth, csrf)
        return endpoint
    return decorate


def _run(handler: Handler, web: WebState, request: Request, form: FormData, auth: str | None,
         csrf: bool) -> Response:
    """One request; a POST is one transaction, so a busy database retries it whole or changes nothing."""
    def attempt() -> Response:
        if request.method != "POST":
            return _answer(handler, web, request, form, auth, csrf)
        with web.rt.db.atomic():
            return _answer(handler, web, request, form, auth, csrf)

    with thread_connection(web.rt.db):
        try:
            return retrying(attempt, f"{request.method} {request.url.path}", retries=WEB_RETRIES)
        except StorageError as exc:
            log.warning("%s", exc.message)
            return busy_page(request)


def _answer(handler: Handler, web: WebState, request: Request, form: FormData, auth: str | None,
            csrf: bool) -> Response:
    ctx = build(web, request, form)
    response = _guarded(handler, ctx, auth, csrf)
    apply_cookies(ctx, response)
    return response


def plain_page(request: Request, status: int, title: str, message: str) -> Response:
    """An error page that needs nothing from the database: no session, the visitor's language."""
    web: WebState = request.app.state.web
    language = pick_language(request, None)[0]
    context = {"ctx": None, "user": None, "csrf": "", "flash": None, "nav": {}, "path": request.url.path,
               **face_context(issuers.default_face(web.rt.config)), "title": i18n.gettext(language, title),
               "message": i18n.gettext(language, message)}
    return web.pages.response("error.html", language, status, **context)


def busy_page(request: Request) -> Response:
    response = plain_page(request, 503, N_("Busy"), N_("We are very busy right now and nothing was changed. "
                                                       "Please try again in a moment."))
    response.headers["Retry-After"] = "5"
    return response


def _guarded(handler: Handler, ctx: Ctx, auth: str | None, csrf: bool) -> Response:
    try:
        if ctx.request.method == "POST" and csrf and not csrf_ok(ctx):
            return ctx.render("error.html", 403, title=ctx._("This form has expired"),
                              message=ctx._("For your safety the form was not sent. Go back, reload the page "
                                            "and try again."))
        if auth and ctx.user is None:
            return login_redirect(ctx)
        if auth == "staff" and not ctx.user.is_staff:
            raise PermissionDenied("staff only")
        return handler(ctx)
    except MailflowError as exc:
        return error_page(ctx, exc)


GENERIC = {403: N_("You may not open this page."),
           404: N_("This page or document does not exist, or you may not see it."),
           409: N_("This conflicts with something that already exists."),
           410: N_("This link can no longer be used."),
           429: N_("Too many attempts. Please wait a while and try again.")}


def error_page(ctx: Ctx, exc: MailflowError) -> Response:
    status = exc.http_status
    translated = ctx._(exc.message)
    message = translated if translated != exc.message or ctx.language == "en" else ctx._(
        GENERIC.get(status, N_("Something in the request is not right.")))
    return ctx.render("error.html", status, title=ctx._(TITLES.get(status, N_("Something went wrong"))),
                      message=message)


TITLES = {400: N_("Please check your request"), 403: N_("Not allowed"), 404: N_("Not found"),
          409: N_("Already exists"), 410: N_("Link no longer valid"), 429: N_("Slow down")}
