"""CLI: customers, users and sharing."""

from __future__ import annotations

import click

from mailflow import accounts
from mailflow.outbound import mails
from mailflow.cli.state import runtime
from mailflow.errors import NotFound
from mailflow.models import CHANNELS, CUSTOMER_KINDS, Access, Customer, User

LANGUAGE = click.option("--language", default="fr", show_default=True, help="fr, nl, en or de.")


def register(cli: click.Group) -> None:
    cli.add_command(customer)
    cli.add_command(user)
    cli.add_command(login_link)


@click.group()
def customer() -> None:
    """Customer numbers and their primary contacts."""


@customer.command("add")
@click.argument("number")
@click.option("--company", required=True)
@click.option("--enterprise-number", default=None, help="Belgian enterprise number, BE0xxxxxxxxx.")
@click.option("--email", required=True, help="Primary contact.")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@LANGUAGE
@click.option("--kind", type=click.Choice(CUSTOMER_KINDS), default="business", show_default=True,
              help="private customers cannot share their documents.")
def customer_add(number: str, company: str, enterprise_number: str | None, email: str, first_name: str,
                 last_name: str, language: str, kind: str) -> None:
    """Add a customer number with its primary contact."""
    added = accounts.add_customer(runtime(), number, company,
                                  accounts.Person(email, first_name, last_name, language), enterprise_number, kind)
    click.echo(f"customer {added.number} ({added.company}, {added.kind}), primary contact {added.primary_user.email}")


@customer.command("list")
def customer_list() -> None:
    """List customer numbers."""
    runtime()
    for item in Customer.select().order_by(Customer.number):
        click.echo(f"{item.number}\t{item.company}\t{item.primary_user.email}\t{item.kind}")


@click.group()
def user() -> None:
    """Users: sharing, staff."""


@user.command("share")
@click.argument("number")
@click.argument("email")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@LANGUAGE
@click.option("--channels", type=click.Choice(CHANNELS), default="both", show_default=True,
              help="both: portal and notifications; portal: no mails; mail: notifications with the PDF only.")
def user_share(number: str, email: str, first_name: str, last_name: str, language: str, channels: str) -> None:
    """Share customer NUMBER with EMAIL (ticked for that number only)."""
    shared = accounts.share(runtime(), number, accounts.Person(email, first_name, last_name, language),
                            channels=channels)
    click.echo(f"{shared.email} now sees {number.upper()}")


@user.command("list")
def user_list() -> None:
    """List users and the customer numbers each sees."""
    runtime()
    for item in User.select().order_by(User.email):
        numbers = [f"{a.customer.number}({a.role})" for a in Access.select().where(Access.user == item)]
        state = "active" if item.activated_at else "invited"
        click.echo(f"{item.email}\t{item.language}\t{state}\t{' '.join(numbers)}")


@user.command("add-staff")
@click.argument("email")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@LANGUAGE
def user_add_staff(email: str, first_name: str, last_name: str, language: str) -> None:
    """Give EMAIL the staff role (the console at /staff)."""
    staff = accounts.add_staff(runtime(), accounts.Person(email, first_name, last_name, language))
    click.echo(f"{staff.email} is staff")


@click.command("login-link")
@click.argument("email")
def login_link(email: str) -> None:
    """Print a magic login link for EMAIL (operations)."""
    rt = runtime()
    found = accounts.find_user(email)
    if found is None:
        raise NotFound(f"no user {email}")
    with rt.db.atomic():
        click.echo(mails.login_link(rt, found))
