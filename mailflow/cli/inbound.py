"""CLI: inbound mail — the MTA pipe door, processing what was stored, and a dry look at one message."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mailflow import events
from mailflow.cli.state import CliState, runtime
from mailflow.errors import MailflowError

# The inbound modules are imported by the commands that need them: `mailflow --help` stays fast.

EX_DATAERR = 65
EX_TEMPFAIL = 75  # Postfix and other MTAs keep the message and retry later


def register(cli: click.Group) -> None:
    cli.add_command(inbound)


@click.group()
def inbound() -> None:
    """Mail coming in: replies, bounces, support mail."""


@inbound.command("deliver")
@click.option("--sender", default=None, help="Envelope sender (MAIL FROM); empty for a bounce's <>.")
@click.option("--recipient", "recipients", multiple=True, help="Envelope recipient (repeatable).")
@click.option("--client-address", "client_ip", default=None, help="The SMTP client's IP address (for SPF).")
@click.option("--helo", default=None, help="The name the SMTP client gave in HELO/EHLO.")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Configuration file, as `mailflow --config` (an MTA's pipe passes no MAILFLOW_CONFIG).")
def deliver(sender: str | None, recipients: tuple[str, ...], client_ip: str | None, helo: str | None,
            config_path: str | None) -> None:
    """Store one raw message read on stdin (for an MTA pipe); exit 75 when it could not be stored."""
    from mailflow.inbound.store import store_raw  # noqa: PLC0415

    ctx = click.get_current_context()
    if config_path:
        ctx.find_object(CliState).config_path = config_path
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        click.echo("error: no message on standard input", err=True)
        ctx.exit(EX_DATAERR)
    try:
        row = store_raw(runtime(), raw, "pipe", sender, recipients, _known(client_ip), _known(helo))
    except Exception as exc:  # anything short of "stored" must make the MTA keep the message
        click.echo(f"error: message not stored, try again later: {_reason(exc)}", err=True)
        ctx.exit(EX_TEMPFAIL)
    events.stored_row(row)
    click.echo(f"stored as inbound message {row.id}")


def _known(value: str | None) -> str | None:
    """Postfix's pipe gives "unknown" for what it does not know."""
    return None if not value or value == "unknown" else value


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, MailflowError) else f"{type(exc).__name__}: {exc}"


@inbound.command("process")
@click.option("--retry-failed", "again", is_flag=True, help="First put messages that failed back in line.")
def process(again: bool) -> None:
    """Process every stored message, then exit."""
    from mailflow.inbound.processing import InboundWorker, retry_failed  # noqa: PLC0415

    rt = runtime()
    retried = retry_failed(rt) if again else 0
    counts = InboundWorker(rt).flush()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing waiting"
    click.echo(summary + (f" ({retried} failed messages retried)" if again else ""))


@inbound.command("reprocess")
@click.argument("message_id", type=int)
def reprocess_command(message_id: int) -> None:
    """Process one inbound message again now."""
    from mailflow.inbound.processing import reprocess  # noqa: PLC0415

    row = reprocess(runtime(), message_id)
    click.echo(f"inbound message {row.id}: {row.status} ({row.kind}): {row.action or ''}{_error(row.error)}")


def _error(error: str | None) -> str:
    return f" error: {error}" if error else ""


@inbound.command("inspect")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sender", default=None, help="Envelope sender to assume (empty for <>).")
@click.option("--recipient", "recipients", multiple=True, help="Envelope recipient to assume (repeatable).")
@click.option("--client-address", "client_ip", default=None, help="SMTP client address to assume (for SPF).")
@click.option("--helo", default=None, help="HELO name to assume.")
def inspect(path: Path, sender: str | None, recipients: tuple[str, ...], client_ip: str | None,
            helo: str | None) -> None:
    """Print, as JSON, what mailflow makes of one message file, changing nothing (DNS is asked, for DKIM,
    SPF and DMARC)."""
    from mailflow.inbound.authentication import Arrival  # noqa: PLC0415
    from mailflow.inbound.understanding import as_json, understand  # noqa: PLC0415

    u = understand(runtime(), path.read_bytes(), sender, list(recipients), Arrival(sender, client_ip, helo))
    click.echo(json.dumps(as_json(u), ensure_ascii=False, indent=2))
