"""Customers, users and who may see what: primary contacts, shared users, ticks per customer number."""

from __future__ import annotations

from dataclasses import dataclass

from mailflow import audit, validation
from mailflow.clock import naive_utc
from mailflow.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mailflow.issuers import issuer_for_number
from mailflow.models import CHANNELS, CUSTOMER_KINDS, Access, Customer, Preference, Share, User
from mailflow.runtime import Runtime

PORTAL = ("both", "portal")  # channels whose documents the viewer and the API show
MAILED = ("both", "mail")  # channels told about new documents, by notice or digest


@dataclass(frozen=True)
class Person:
    email: str
    first_name: str = ""
    last_name: str = ""
    language: str = "fr"

    def checked(self) -> "Person":
        return Person(validation.email_address(self.email), validation.name(self.first_name, "first_name"),
                      validation.name(self.last_name, "last_name"), validation.language(self.language))


def find_user(email: str) -> User | None:
    return User.get_or_none(User.email == email.strip().lower())


def ensure_user(rt: Runtime, person: Person) -> User:
    """The one account of an address; names fill in where still empty, nothing is overwritten."""
    user = find_user(person.email)
    if user is None:
        return User.create(email=person.email, first_name=person.first_name, last_name=person.last_name,
                           language=person.language, created_at=naive_utc(rt.now()))
    if not user.first_name and not user.last_name and (person.first_name or person.last_name):
        user.first_name, user.last_name = person.first_name, person.last_name
        user.save()
    return user


def get_customer(number: str) -> Customer:
    customer = Customer.get_or_none(Customer.number == number.strip().upper())
    if customer is None:
        raise NotFound(f"unknown customer number {number!r}", field="customer")
    return customer


def add_customer(rt: Runtime, number: str, company: str, contact: Person,
                 enterprise_number: str | None = None, kind: str = "business") -> Customer:
    number = number.strip().upper()
    issuer = issuer_for_number(number)
    company = validation.name(company, "company")
    if not company:
        raise ValidationError("company name is required", field="company")
    enterprise = validation.enterprise_number(enterprise_number)
    kind = _one_of(kind, CUSTOMER_KINDS, "kind")
    contact = contact.checked()
    with rt.db.atomic():
        if Customer.select().where(Customer.number == number).exists():
            raise Conflict(f"customer number {number} already exists", field="customer")
        user = ensure_user(rt, contact)
        customer = Customer.create(number=number, issuer=issuer, company=company, enterprise_number=enterprise,
                                   primary_user=user, kind=kind, created_at=naive_utc(rt.now()))
        grant(rt, user, customer, "primary")
        audit.record(rt, "system", "customer.add", number, primary=user.email, kind=kind)
    return customer


def _one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ValidationError(f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field)
    return value


def grant(rt: Runtime, user: User, customer: Customer, role: str, granted_by: User | None = None,
          channels: str = "both") -> Access:
    access, created = Access.get_or_create(user=user, customer=customer, defaults={
        "role": role, "granted_by": granted_by, "channels": channels, "created_at": naive_utc(rt.now())})
    Preference.get_or_create(user=user, customer=customer,
                             defaults={"frequency": "immediate", "updated_at": naive_utc(rt.now())})
    return access


def share(rt: Runtime, number: str, person: Person, actor: User | None = None, channels: str = "both") -> User:
    """Add a shared user for the primary contact of `number`, ticked for that number only."""
    customer = get_customer(number)
    owner = customer.primary_user
    if actor is not None and actor.id != owner.id:
        raise PermissionDenied("only the primary contact can share this customer number")
    check_shareable(customer)
    channels = _one_of(channels, CHANNELS, "channels")
    person = person.checked()
    with rt.db.atomic():
        user = ensure_user(rt, person)
        if user.id == owner.id:
            raise ValidationError("the primary contact already sees this customer number", field="email")
        Share.get_or_create(owner=owner, user=user, defaults={"created_at": naive_utc(rt.now())})
        _grant_shared(rt, owner, user, customer, channels)
        audit.record(rt, actor.email if actor else "system", "share.add", user.email, customer=customer.number,
                     channels=channels)
    return user


def check_shareable(customer: Customer) -> None:
    """Private customers' documents are theirs alone, as the FAQ's consumer accounts: no sharing."""
    if customer.kind == "private":
        raise PermissionDenied(f"{customer.number} is a private customer: its documents cannot be shared",
                               field="customer")


def set_ticked(rt: Runtime, owner: User, user: User, customer: Customer, ticked: bool,
               channels: str = "both") -> None:
    """Tick (with how it is delivered) or untick one of the owner's customer numbers for a shared user."""
    _check_owner(owner, user, customer)
    if ticked:
        check_shareable(customer)
    channels = _one_of(channels, CHANNELS, "channels")
    with rt.db.atomic():
        if ticked:
            _grant_shared(rt, owner, user, customer, channels)
        else:
            Access.delete().where(Access.user == user, Access.customer == customer,
                                  Access.role == "shared").execute()
        audit.record(rt, owner.email, "share.tick" if ticked else "share.untick", user.email,
                     customer=customer.number, **({"channels": channels} if ticked else {}))


def _grant_shared(rt: Runtime, owner: User, user: User, customer: Customer, channels: str) -> None:
    """Shared access with these channels, whether it is new or already there (a primary's stays as it is)."""
    access = grant(rt, user, customer, "shared", granted_by=owner, channels=channels)
    Access.update(channels=channels).where(Access.id == access.id, Access.role == "shared").execute()


def _check_owner(owner: User, user: User, customer: Customer) -> None:
    if customer.primary_user_id != owner.id:
        raise PermissionDenied("only the primary contact can share this customer number")
    if not Share.select().where(Share.owner == owner, Share.user == user).exists():
        raise NotFound("this person is not one of your shared users")


def hand_over(rt: Runtime, customer: Customer, user: User, actor: str) -> None:
    """Make `user` the primary contact of `customer`, in place of one who never activated the account; the
    shared users keep their access, now as the new primary contact's shared users."""
    old = customer.primary_user
    Customer.update(primary_user=user).where(Customer.id == customer.id).execute()
    Access.delete().where(Access.customer == customer, Access.user.in_([old.id, user.id])).execute()
    grant(rt, user, customer, "primary")
    now = naive_utc(rt.now())
    shared_users = User.select().join(Access, on=(Access.user == User.id)).where(Access.customer == customer,
                                                                                Access.role == "shared")
    for shared in shared_users:
        Share.get_or_create(owner=user, user=shared, defaults={"created_at": now})
    Access.update(granted_by=user).where(Access.customer == customer, Access.role == "shared").execute()
    audit.record(rt, actor, "customer.primary_change", customer.number, old=old.email, new=user.email)


def unshare(rt: Runtime, owner: User, user: User) -> None:
    """Remove a shared user from every customer number of this owner."""
    owned = Customer.select(Customer.id).where(Customer.primary_user == owner)
    with rt.db.atomic():
        Access.delete().where(Access.user == user, Access.customer.in_(owned), Access.role == "shared").execute()
        Share.delete().where(Share.owner == owner, Share.user == user).execute()
        audit.record(rt, owner.email, "share.remove", user.email)


def customers_of(user: User, role: str | None = None, channels: tuple[str, ...] | None = None) -> list[Customer]:
    """The customer numbers `user` has access to (in `role`, by `channels`), in number order."""
    query = Customer.select().join(Access, on=(Access.customer == Customer.id)).where(Access.user == user)
    if role:
        query = query.where(Access.role == role)
    if channels:
        query = query.where(Access.channels.in_(channels))
    return list(query.order_by(Customer.number))


def recipients(customer: Customer) -> list[User]:
    """Primary contact and every shared user ticked for this number and told about its documents."""
    return list(User.select().join(Access).where(Access.customer == customer, Access.channels.in_(MAILED))
                .order_by(User.id))


def add_staff(rt: Runtime, person: Person) -> User:
    user = ensure_user(rt, person.checked())
    User.update(is_staff=True).where(User.id == user.id).execute()
    audit.record(rt, "system", "staff.add", user.email)
    return User.get_by_id(user.id)
