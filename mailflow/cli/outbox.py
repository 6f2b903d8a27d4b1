"""CLI: the outbox."""

from __future__ import annotations

import click

from mailflow.cli.state import runtime
from mailflow.errors import Conflict, NotFound
from mailflow.models import Outbox
from mailflow.outbound import outbox as outbox_rows
from mailflow.outbound.delivery import DeliveryWorker


def register(cli: click.Group) -> None:
    cli.add_command(outbox)


@click.group()
def outbox() -> None:
    """Outgoing mail."""


@outbox.command("list")
@click.option("--status", type=click.Choice(outbox_rows.STATUSES), default=None)
@click.option("--limit", default=100, show_default=True)
def outbox_list(status: str | None, limit: int) -> None:
    """Show outgoing mails, newest first."""
    runtime()
    query = Outbox.select().order_by(Outbox.id.desc()).limit(limit)
    if status:
        query = query.where(Outbox.status == status)
    rows = list(query)
    if not rows:
        click.echo(f"no {status} mail in the outbox" if status else "the outbox is empty")
        return
    click.echo("id\tstatus\tkind\trecipient\tattempts\tsubject\tlast answer")
    for row in rows:
        click.echo(f"{row.id}\t{row.status}\t{row.kind}\t{row.recipient}\t{row.attempts}\t{row.subject}"
                   f"\t{row.last_response or ''}")


@outbox.command("flush")
def outbox_flush() -> None:
    """Deliver everything due now, then exit."""
    report = DeliveryWorker(runtime()).flush()
    click.echo(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}, "
               f"suppressed {report.suppressed}")


@outbox.command("retry")
@click.argument("row_id", type=int)
def outbox_retry(row_id: int) -> None:
    """Put a failed, suppressed or deferred mail back in the queue now."""
    rt = runtime()
    if not outbox_rows.requeue(row_id, rt.now()):
        raise _not_retryable(row_id)
    click.echo(f"outbox row {row_id} queued")


def _not_retryable(row_id: int) -> NotFound | Conflict:
    """Why `requeue` changed nothing: the row does not exist, or its status is not one to retry."""
    row = Outbox.select(Outbox.status).where(Outbox.id == row_id).first()
    if row is None:
        return NotFound(f"no outbox row {row_id}")
    return Conflict(f"outbox row {row_id} is {row.status}: only failed, suppressed or deferred mail can be retried")
