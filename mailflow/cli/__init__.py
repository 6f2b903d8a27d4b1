"""The `mailflow` command: one group, subcommands by area, MailflowError turned into exit codes."""

from __future__ import annotations

import logging
import sys

import click

from mailflow.cli import customers, documents, inbound, outbox, scheduler, service, web
from mailflow.cli.state import CliState
from mailflow.errors import MailflowError


class MailflowGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MailflowError as exc:
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=MailflowGroup)
@click.option("--config", "config_path", envvar="MAILFLOW_CONFIG", type=click.Path(dir_okay=False),
              help="Configuration file (default: config.toml of the installation).")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """mailflow: publish documents, tell the right people by email, act on their replies."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state = CliState(config_path)
    ctx.obj = state
    ctx.call_on_close(state.close)


for module in (service, customers, documents, outbox, scheduler, inbound, web):
    module.register(cli)


def main() -> None:
    sys.exit(cli.main(prog_name="mailflow", standalone_mode=True) or 0)
