"""CLI: set-up, the long-running service and demo data."""

from __future__ import annotations

import click

from mailflow.cli.state import runtime
from mailflow.masking import masked
from mailflow.demo import run_demo
from mailflow.migrations import current_version
from mailflow.serve import ALL_ROLES, serve as run_service


def register(cli: click.Group) -> None:
    for command in (init, serve, demo):
        cli.add_command(command)


@click.command()
def init() -> None:
    """Create or upgrade the database schema; make a DKIM key for each From domain that has none."""
    rt = runtime()
    click.echo(f"database ready at schema version {current_version(rt.db)}: {masked(rt.config.database.url)}")
    if rt.config.dkim.enabled:
        from mailflow.outbound.dkim import KeyStore  # noqa: PLC0415 - cryptography only when needed
        for made in KeyStore(rt.config).ensure(rt.now()):
            click.echo(f"DKIM key {made.selector} made for {made.domain}: publish it (`mailflow dns`)")


@click.command()
@click.option("--role", "roles", multiple=True, type=click.Choice(ALL_ROLES),
              help="Run only these roles (repeatable); default all.")
def serve(roles: tuple[str, ...]) -> None:
    """Run mailflow until interrupted; exit 75 when a port is taken, 70 when a role stops on its own,
    78 when started with --role on a database without its schema (only `init` and a plain `serve` make it)."""
    # what runs, the viewer's URL and the database are logged once every role has started
    run_service(runtime(create=not roles), list(roles or ALL_ROLES))


@click.command()
@click.option("--reset", is_flag=True, help="Delete every customer, user, document and mail first.")
def demo(reset: bool) -> None:
    """Fill an empty database with realistic demo data."""
    rt = runtime()
    counts = run_demo(rt, reset=reset)
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))
    click.echo("Try next:\n"
               "  mailflow outbox list                 # the notifications just queued\n"
               "  mailflow outbox flush                # deliver them (into the Maildir by default)\n"
               "  mailflow login-link marie.dupont@example.be   # open the viewer as Marie\n"
               "  mailflow document list --customer DL2100001")
