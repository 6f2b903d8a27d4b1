"""CLI: what the viewer's people need from operations: activation codes, paperless lists, merges, sessions."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click
from peewee import chunked

from mailflow import accounts, activation, paperless
from mailflow.account_merge import merge
from mailflow.cli.state import runtime
from mailflow.clock import aware_utc
from mailflow.errors import NotFound, ValidationError
from mailflow.models import ActivationCode, Issuer
from mailflow.web import sessions

CODE_BATCH = 100  # codes issued per transaction: a short write lock, and the rows written once committed
ISSUER = click.option("--issuer", default=None, help="Only this issuer's customer numbers (its prefix, e.g. DL2).")
OUTPUT = click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="Write the CSV to this file (default: standard output).")


def register(cli: click.Group) -> None:
    cli.add_command(activation_code)
    cli.add_command(paperless_group)
    cli.add_command(account)


def _issuer(prefix: str | None) -> Issuer | None:
    if prefix is None:
        return None
    found = Issuer.get_or_none(Issuer.prefix == prefix.strip().upper())
    if found is None:
        raise NotFound(f"unknown issuer {prefix!r}")
    return found


@contextmanager
def csv_output(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file that appears whole: written beside it, renamed into place when done.

    On failure the file still gets what was written (the rows whose transactions committed), since those
    codes now exist and nowhere else is their plain text.
    """
    if path is None:
        yield sys.stdout
        return
    try:  # private (0600) like the codes it may hold
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror}", field="output") from None
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            yield handle
    finally:
        os.replace(temporary, path)


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


@activation_code.command("export")
@ISSUER
@OUTPUT
@click.option("--reissue", is_flag=True, help="Also replace codes still valid (the letters that carry them "
                                                "then hold a code that no longer works).")
def code_export(issuer: str | None, output: Path | None, reissue: bool) -> None:
    """Write the CSV a print shop merges into letters: customer, company, code, valid_until.

    Every customer number on paper without a valid code gets a new one; the plain codes exist only in this
    file. Running it again issues nothing for numbers it just covered.
    """
    rt = runtime()
    customers = activation.needing_codes(rt, _issuer(issuer), reissue)
    written = 0
    try:
        with csv_output(output) as handle:
            rows = csv.writer(handle)
            rows.writerow(["customer", "company", "code", "valid_until"])
            for batch in chunked(customers, CODE_BATCH):
                for item in activation.issue_many(rt, batch, actor="cli"):
                    rows.writerow([item.customer.number, item.customer.company, item.code,
                                   item.valid_until.isoformat()])
                handle.flush()
                written += len(batch)
    finally:  # also when a batch failed: the codes of the batches before it exist, and are in the file
        click.echo(f"{written} code(s) issued, {len(customers) - written} to go", err=True)


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


@click.group("paperless")
def paperless_group() -> None:
    """Who receives documents electronically: the issuer's back office stops printing for them."""


@paperless_group.command("export")
@ISSUER
@click.option("--since", default=None, help="Only numbers whose delivery changed since this date (2026-11-01, "
                                            "local time) or ISO date and time.")
@OUTPUT
def paperless_export(issuer: str | None, since: str | None, output: Path | None) -> None:
    """Write a CSV of customer numbers with their delivery (electronic or paper) and its last change."""
    rt = runtime()
    moment = paperless.parse_since(since, rt.config.scheduler.timezone) if since else None
    found = paperless.rows(_issuer(issuer), moment)
    with csv_output(output) as handle:
        rows = csv.DictWriter(handle, fieldnames=paperless.COLUMNS)
        rows.writeheader()
        rows.writerows(row.values() for row in found)
    click.echo(f"{len(found)} customer number(s)", err=True)


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
