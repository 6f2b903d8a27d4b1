"""Sharing (primary contacts): add shared users, tick the customer numbers each one sees, edit, remove."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response
from starlette.routing import Route

from mailflow import accounts, address_change, audit, i18n, ratelimit, validation
from mailflow.accounts import Person
from mailflow.errors import MailflowError, NotFound, PermissionDenied, RateLimited, ValidationError
from mailflow.models import CHANNELS, Access, Customer, Share, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime
from mailflow.web.address import request_error, requested
from mailflow.web.context import N_, Ctx, page

DAY = timedelta(days=1)
FORM_ERRORS = {
    "email": N_("Enter a valid email address, such as name@company.be."),
    "first_name": N_("The first name is too long or has characters that are not allowed."),
    "last_name": N_("The last name is too long or has characters that are not allowed."),
    "language": N_("Choose one of the languages offered."),
    "customer": N_("Tick at least one customer number."),
}
CHANNEL_LABELS = {"both": N_("In the portal and by notification"), "portal": N_("In the portal only"),
                  "mail": N_("By notification only, with the PDF")}
KIND_LABELS = {"business": N_("Business"), "private": N_("Private")}


def owned(user: User) -> list[Customer]:
    return list(Customer.select().where(Customer.primary_user == user).order_by(Customer.number))


def shared_people(owner: User, customers: list[Customer]) -> list[tuple[User, dict[int, str]]]:
    """Each shared user of `owner` with the owner's customer numbers ticked for them (id → channels)."""
    people = list(User.select().join(Share, on=(Share.user == User.id)).where(Share.owner == owner)
                  .order_by(User.last_name, User.first_name, User.email))
    ids = [c.id for c in customers]
    ticks: dict[int, dict[int, str]] = {p.id: {} for p in people}
    if people and ids:
        for access in Access.select().where(Access.user.in_([p.id for p in people]), Access.customer.in_(ids)):
            ticks[access.user_id][access.customer_id] = access.channels
    return [(person, ticks[person.id]) for person in people]


def _owner_customers(ctx: Ctx) -> list[Customer]:
    customers = owned(ctx.user)
    if not customers:
        raise PermissionDenied("only the primary contact of a customer number can share it")
    return customers


def _show(ctx: Ctx, status: int = 200, **extra: object) -> Response:
    customers = _owner_customers(ctx)
    context = {"customers": customers, "people": shared_people(ctx.user, customers), "error": None,
               "values": {"language": ctx.user.language, "channels": "both"}, "ticked_new": set(),
               "shareable": [c for c in customers if c.kind != "private"], "channel_labels": CHANNEL_LABELS,
               "channel_codes": CHANNELS, "kind_labels": KIND_LABELS}
    return ctx.render("sharing.html", status, **(context | extra))


@page()
def sharing_page(ctx: Ctx) -> Response:
    return _show(ctx)


def _chosen(ctx: Ctx, customers: list[Customer]) -> list[Customer]:
    """The ticked customer numbers; a private one cannot be shared, whatever the form says."""
    wanted = set(ctx.form.getlist("customer"))
    return [c for c in customers if str(c.id) in wanted and c.kind != "private"]


def _channels(ctx: Ctx, name: str) -> str:
    value = ctx.field(name, "both")
    return value if value in CHANNELS else "both"


@page()
def add_person(ctx: Ctx) -> Response:
    customers = _owner_customers(ctx)
    chosen = _chosen(ctx, customers)
    person = Person(ctx.field("email"), ctx.field("first_name"), ctx.field("last_name"),
                    ctx.field("language") or ctx.user.language)
    channels = _channels(ctx, "channels")
    try:
        if not chosen:
            raise ValidationError("tick at least one customer number", field="customer")
        added = _share(ctx.rt, ctx.user, person, chosen, channels)
    except RateLimited:
        return _show(ctx, 429, error=ctx._("You have sent as many sharing invitations as a day allows. Please "
                                           "try again tomorrow."), values=person.__dict__ | {"channels": channels},
                     ticked_new={c.id for c in chosen})
    except MailflowError as exc:
        message = (ctx._("This is your own address: you already see these customer numbers.")
                   if exc.field == "email" and "primary contact" in exc.message
                   else ctx._(FORM_ERRORS.get(exc.field or "", N_("Something in the request is not right."))))
        return _show(ctx, 400, error=message, values=person.__dict__ | {"channels": channels},
                     ticked_new={c.id for c in chosen})
    return ctx.redirect("/sharing", ctx._("%(email)s now sees the ticked customer numbers and was sent an "
                                          "invitation.", email=added.email))


def _share(rt: Runtime, owner: User, person: Person, chosen: list[Customer], channels: str) -> User:
    with rt.db.atomic():
        added = accounts.share(rt, chosen[0].number, person, actor=owner, channels=channels)
        for customer in chosen[1:]:
            accounts.set_ticked(rt, owner, added, customer, True, channels)
        invite(rt, owner, added, chosen, channels)
    return added


def invite(rt: Runtime, owner: User, user: User, chosen: list[Customer], channels: str = "both") -> None:
    """Tell the new shared user; an account not yet activated gets its activation link, unless the numbers
    come by notification only (the portal would show them nothing).

    Capped per primary contact and day: an invitation goes to any address the contact types, so it must
    not become a way to send mail in bulk (its subject names only the issuer's customer, never the
    contact's own words, for the same reason).
    """
    ratelimit.hit(f"share-invite:{owner.id}", rt.config.limits.share_invitations_per_day, DAY, rt.now())
    mail_only = channels == "mail"
    context = {"owner": owner, "numbers": [c.number for c in chosen], "companies": [c.company for c in chosen],
               "action_url": _link(rt, user, mail_only), "action_label": _label(user), "mail_only": mail_only}
    mails.queue(rt, mails.MailRequest(user, "share_invitation", "invitation", "invitation", context,
                                      customer=chosen[0]))
    audit.record(rt, owner.email, "invitation.send", user.email, customers=[c.number for c in chosen])


def _link(rt: Runtime, user: User, mail_only: bool) -> str | None:
    if mail_only:
        return None
    return mails.invitation_link(rt, user) if user.activated_at is None else rt.url("documents")


def _label(user: User) -> str:
    text = N_("Activate my account") if user.activated_at is None else N_("See the documents")
    return i18n.gettext(user.language, text)  # the mail's language, not the page's


def _person(ctx: Ctx) -> User:
    user = (User.select().join(Share, on=(Share.user == User.id))
            .where(Share.owner == ctx.user, User.id == ctx.request.path_params["user_id"]).first())
    if user is None:
        raise NotFound("this person is not one of your shared users")
    return user


@page()
def save_person(ctx: Ctx) -> Response:
    customers = _owner_customers(ctx)
    person = _person(ctx)
    wanted = {c.id for c in _chosen(ctx, customers)}
    with ctx.rt.db.atomic():
        ticked = _ticks(person, customers)
        for customer in customers:
            channels = _channels(ctx, f"channels_{customer.id}")
            if customer.id in wanted and ticked.get(customer.id) != channels:
                accounts.set_ticked(ctx.rt, ctx.user, person, customer, True, channels)
            elif customer.id not in wanted and customer.id in ticked:
                accounts.set_ticked(ctx.rt, ctx.user, person, customer, False)
        if person.activated_at is None and "first_name" in ctx.form:
            _edit(ctx, person)
    return ctx.redirect("/sharing", ctx._("Changes saved for %(email)s.", email=person.email))


def _ticks(person: User, customers: list[Customer]) -> dict[int, str]:
    """The owner's customer numbers ticked for `person`: id → channels."""
    query = Access.select(Access.customer, Access.channels).where(
        Access.user == person, Access.customer.in_([c.id for c in customers]))
    return {row.customer_id: row.channels for row in query}


def _edit(ctx: Ctx, person: User) -> None:
    """Name and language, only while the person has not activated the account (then it is theirs)."""
    first = validation.name(ctx.field("first_name"), "first_name")
    last = validation.name(ctx.field("last_name"), "last_name")
    language = validation.language(ctx.field("language") or person.language)
    if (first, last, language) != (person.first_name, person.last_name, person.language):
        User.update(first_name=first, last_name=last, language=language).where(User.id == person.id).execute()
        audit.record(ctx.rt, ctx.user.email, "share.edit", person.email, first_name=first, last_name=last,
                     language=language)


@page()
def remove_person(ctx: Ctx) -> Response:
    _owner_customers(ctx)
    person = _person(ctx)
    accounts.unshare(ctx.rt, ctx.user, person)
    return ctx.redirect("/sharing", ctx._("%(email)s no longer sees your documents.", email=person.email))


@page()
def change_email(ctx: Ctx) -> Response:
    """A shared user's new address, confirmed from that mailbox like one's own."""
    _owner_customers(ctx)
    person = _person(ctx)
    try:
        change = address_change.request(ctx.rt, person, ctx.field("email"), ctx.user)
    except MailflowError as exc:
        return ctx.redirect("/sharing", request_error(ctx, exc), kind="error")
    return ctx.redirect("/sharing", requested(ctx, change.new_email, change.old_email))


routes = [
    Route("/sharing", sharing_page, methods=["GET"]),
    Route("/sharing/add", add_person, methods=["POST"]),
    Route("/sharing/{user_id:int}", save_person, methods=["POST"]),
    Route("/sharing/{user_id:int}/remove", remove_person, methods=["POST"]),
    Route("/sharing/{user_id:int}/email", change_email, methods=["POST"]),
]
