"""The `mailflow` command: one group, subcommands by area, every failure turned into `error: …` and an exit code."""

from __future__ import annotations

import logging
import sqlite3
import sys

import click
import psycopg2
from peewee import DatabaseError, DataError, IntegrityError, InterfaceError

from mailflow.cli import customers, dns, documents, inbound, outbox, scheduler, service, web
from mailflow.cli.state import CliState
from mailflow import log_format
from mailflow.db import first_line, is_busy
from mailflow.masking import masked
from mailflow.errors import Conflict, MailflowError, StorageError, ValidationError

log = logging.getLogger(__name__)
# peewee's errors, and the drivers' own where code runs SQL on a raw cursor past peewee's wrapping
DATABASE_ERRORS = (DatabaseError, InterfaceError, sqlite3.Error, psycopg2.Error)
INTEGRITY_ERRORS = (IntegrityError, sqlite3.IntegrityError, psycopg2.IntegrityError)
DATA_ERRORS = (DataError, sqlite3.DataError, psycopg2.DataError)


class MailflowGroup(click.Group):
    """Every command's failure leaves as one `error: …` line and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DATABASE_ERRORS as exc:
            log.debug("database error", exc_info=True)  # -v shows where it came from
            fail(ctx, database_error(exc, ctx.find_object(CliState)))
        except MailflowError as exc:
            fail(ctx, exc)


def fail(ctx: click.Context, exc: MailflowError) -> None:
    said = f"error: {masked(exc.message)}"  # a driver's message may quote a URL or value
    if log_format.writes_json():  # every line on stderr is then one JSON object
        log.error(said, extra={"event": "error", "exit_code": exc.exit_code})
    else:
        click.echo(said, err=True)
    ctx.exit(exc.exit_code)


def database_error(exc: Exception, state: CliState | None) -> MailflowError:
    """What a database error raised inside a command means to the person who ran it."""
    reason = first_line(exc)
    if isinstance(exc, INTEGRITY_ERRORS):  # another writer stored the same thing first
        return Conflict(f"conflicts with what is already stored: {reason}")
    if isinstance(exc, DATA_ERRORS):
        return ValidationError(f"the database refused a value: {reason}")
    if is_busy(exc):
        return StorageError(f"database busy, try again later: {reason}")
    url = state.database_url() if state else None
    where = f" ({masked(url)})" if url else ""
    return StorageError(f"database unavailable{where}: {reason}")


@click.group(cls=MailflowGroup)
@click.option("--config", "config_path", envvar="MAILFLOW_CONFIG", type=click.Path(dir_okay=False),
              help="Configuration file (default: config.toml of the installation).")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """mailflow: publish documents, tell the right people by email, act on their replies."""
    log_format.install(verbose)  # text until the configuration's [logging] is read
    state = CliState(config_path, verbose)
    ctx.obj = state
    ctx.call_on_close(state.close)


for module in (service, customers, documents, outbox, scheduler, inbound, web, dns):
    module.register(cli)


def main() -> None:
    sys.exit(cli.main(prog_name="mailflow", standalone_mode=True) or 0)
