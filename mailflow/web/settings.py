"""Settings: name and language, how often to be told per customer number, a personal API token."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailflow import actions, address_change, audit, i18n, validation
from mailflow.errors import MailflowError, ValidationError
from mailflow.models import FREQUENCIES, Preference, User
from mailflow.web.address import request_error, requested
from mailflow.web.api import new_api_token
from mailflow.accounts import MAILED, customers_of
from mailflow.web.context import N_, Ctx, page, read_flash, sign_flash

FREQUENCY_LABELS = {"immediate": N_("Immediately, one mail per document"), "daily": N_("Daily summary"),
                    "weekly": N_("Weekly summary"), "monthly": N_("Monthly summary"),
                    "off": N_("Never (documents stay available here)")}


def frequencies(user: User) -> dict[int, str]:
    return {p.customer_id: p.frequency for p in Preference.select().where(Preference.user == user)}


def _show(ctx: Ctx, status: int = 200, **extra: object) -> Response:
    context = {"customers": customers_of(ctx.user, channels=MAILED), "frequencies": frequencies(ctx.user),
               "frequency_labels": FREQUENCY_LABELS, "frequency_codes": FREQUENCIES, "error": None,
               "new_token": None, "has_token": ctx.user.api_token_hash is not None,
               "pending": address_change.pending_for(ctx.user), "email_error": None, "new_email": "",
               "undo_days": ctx.rt.config.security.address_undo_days}
    return ctx.render("settings.html", status, **(context | extra))


NEW_TOKEN_COOKIE = "mailflow_new_token"


@page()
def settings_page(ctx: Ctx) -> Response:
    """The token just created is shown here once, after the POST redirected: a reload does not create another."""
    shown = read_flash(ctx.web.flash_key, ctx.request.cookies.get(NEW_TOKEN_COOKIE))
    if shown is None:
        return _show(ctx)
    ctx.cookies.append((NEW_TOKEN_COOKIE, None, None))
    return _show(ctx, new_token=shown["text"])


@page()
def save_profile(ctx: Ctx) -> Response:
    try:
        first = validation.name(ctx.field("first_name"), "first_name")
        last = validation.name(ctx.field("last_name"), "last_name")
        language = validation.language(ctx.field("language"))
    except ValidationError:
        return _show(ctx, 400, error=ctx._("Names may have at most 100 characters; choose one of the languages "
                                           "offered."))
    with ctx.rt.db.atomic():
        User.update(first_name=first, last_name=last, language=language).where(User.id == ctx.user.id).execute()
        audit.record(ctx.rt, ctx.user.email, "profile.update", ctx.user.email, language=language)
    return ctx.redirect("/settings", i18n.gettext(language, "Your details are saved."))


@page()
def save_frequencies(ctx: Ctx) -> Response:
    current = frequencies(ctx.user)
    changed = 0
    for customer in customers_of(ctx.user, channels=MAILED):
        wanted = ctx.field(f"frequency_{customer.id}")
        if wanted and wanted != current.get(customer.id, "immediate"):
            actions.set_frequency(ctx.rt, ctx.user, wanted, customer)
            changed += 1
    message = ctx._("Notification settings saved.") if changed else ctx._("Nothing was changed.")
    return ctx.redirect("/settings", message)


@page()
def change_email(ctx: Ctx) -> Response:
    """Ask for a new address: a link goes to it, and the address changes only when that link is used."""
    new = ctx.field("email")
    try:
        change = address_change.request(ctx.rt, ctx.user, new, ctx.user)
    except MailflowError as exc:
        return _show(ctx, exc.http_status, email_error=request_error(ctx, exc), new_email=new)
    return ctx.redirect("/settings", requested(ctx, change.new_email, change.old_email))


@page()
def create_token(ctx: Ctx) -> Response:
    with ctx.rt.db.atomic():
        token = new_api_token(ctx.user)
        audit.record(ctx.rt, ctx.user.email, "api_token.create", ctx.user.email)
    # signed, HttpOnly, a minute long and deleted once shown: the token crosses the redirect to one GET
    ctx.cookies.append((NEW_TOKEN_COOKIE, sign_flash(ctx.web.flash_key, "token", token), 60))
    return ctx.redirect("/settings")


@page()
def revoke_token(ctx: Ctx) -> Response:
    with ctx.rt.db.atomic():
        User.update(api_token_hash=None).where(User.id == ctx.user.id).execute()
        audit.record(ctx.rt, ctx.user.email, "api_token.revoke", ctx.user.email)
    return ctx.redirect("/settings", ctx._("Your API token no longer works."))


routes = [
    Route("/settings", settings_page, methods=["GET"]),
    Route("/settings/profile", save_profile, methods=["POST"]),
    Route("/settings/email", change_email, methods=["POST"]),
    Route("/settings/frequency", save_frequencies, methods=["POST"]),
    Route("/settings/api-token", create_token, methods=["POST"]),
    Route("/settings/api-token/revoke", revoke_token, methods=["POST"]),
]
