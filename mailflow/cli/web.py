"""CLI: what the viewer's people need from operations: activation codes, account merges, sessions."""

from __future__ import annotations

import click

from mailflow import accounts, activation
from mailflow.account_merge import merge
from mailflow.cli.state import runtime
from mailflow.clock import aware_utc
from mailflow.errors import NotFound
from mailflow.models import ActivationCode
from mailflow.web import sessions


def register(cli: click.Group) -> None:
    cli.add_command(activation_code)
    cli.add_command(account)


@click.group("activation-code")
def activation_code() -> None:
    """Paperless opt-in codes, one per customer number, valid 15 weeks."""


@activation_code.command("issue")
@click.argument("number")
def code_issue(number: str) -> None:
    """Issue a new code for customer NUMBER and print it (older unused codes stop working)."""
    rt = runtime()
    customer = accounts.get_customer(number)
    code = activation.issue(rt, customer, actor="cli")
    expires = aware_utc(activation.latest(customer).expires_at).date().isoformat()
    click.echo(code)
    click.echo(f"for {customer.number}, valid until {expires}", err=True)


@activation_code.command("list")
@click.argument("number")
def code_list(number: str) -> None:
    """The codes of customer NUMBER (never the codes themselves: only their state)."""
    runtime()
    customer = accounts.get_customer(number)
    click.echo(f"{customer.number}\t{'electronic' if customer.paperless else 'paper'}")
    for row in ActivationCode.select().where(ActivationCode.customer == customer).order_by(ActivationCode.id):
        state = ("used" if row.used_at else "superseded" if row.superseded_at else "unused")
        click.echo(f"{row.issued_at:%Y-%m-%d}\tvalid until {row.expires_at:%Y-%m-%d}\t{state}")


@click.group()
def account() -> None:
    """Accounts as a whole: merge two, end sessions."""


def _user(email: str):
    found = accounts.find_user(email)
    if found is None:
        raise NotFound(f"no user {email}")
    return found


@account.command("merge")
@click.argument("keep")
@click.argument("other")
def account_merge(keep: str, other: str) -> None:
    """Move everything of OTHER (an address) into KEEP and retire OTHER."""
    rt = runtime()
    kept = merge(rt, _user(keep), _user(other), actor="cli")
    click.echo(f"{other.lower()} merged into {kept.email}")


@account.command("logout")
@click.argument("email")
def account_logout(email: str) -> None:
    """End every viewer session of EMAIL."""
    rt = runtime()
    click.echo(f"{sessions.revoke_all(rt, _user(email))} session(s) ended")
