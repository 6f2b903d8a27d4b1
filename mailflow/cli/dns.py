"""CLI: the DNS records to publish (`dns`, `dns --check`) and DKIM keys (`dkim status`, `dkim rotate`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailflow.cli.state import runtime

if TYPE_CHECKING:
    from mailflow.dns_records import Record
    from mailflow.outbound.dkim import KeyStore, Selector
    from mailflow.runtime import Runtime

EX_DIFFERS = 1  # like diff(1): published records differ from what mailflow needs


def register(cli: click.Group) -> None:
    cli.add_command(dns_command)
    cli.add_command(dkim_group)


@click.command("dns")
@click.option("--check", is_flag=True, help="Resolve each record and say what is missing or differs.")
def dns_command(check: bool) -> None:
    """Print, as zone-file lines, every record mail in mailflow's name needs: DKIM, SPF, DMARC, MX."""
    from mailflow import dns_records  # noqa: PLC0415 - keeps `mailflow --help` fast
    from mailflow.resolver import Resolver  # noqa: PLC0415

    rt = runtime()
    records, notes = dns_records.expected(rt.config, rt.now())
    if not check:
        click.echo(dns_records.zone(records, notes), nl=False)
        return
    findings = dns_records.check(records, Resolver(rt.config.dns))
    for finding in findings:
        click.echo(finding.line())
    for note in notes:
        click.echo(f"note     {note}")
    if any(f.state != "ok" for f in findings):
        click.get_current_context().exit(EX_DIFFERS)


@click.group("dkim")
def dkim_group() -> None:
    """DKIM keys: one per From domain, rotated in two steps."""


@dkim_group.command("status")
def status() -> None:
    """Each domain's selectors: waiting, signing, or kept for mail already signed."""
    from mailflow.outbound.dkim import KeyStore  # noqa: PLC0415

    rt = runtime()
    store = KeyStore(rt.config)
    needed = set(store.needed(rt.now()))
    for s in store.selectors():
        state = s.status if s in needed else "retired (its record can be removed)"
        click.echo(f"{s.domain} {s.selector} {state}{' (config.toml)' if s.configured else ''}")


@dkim_group.command("rotate")
@click.argument("domain")
@click.option("--force", is_flag=True, help="Sign with the new key without checking that DNS shows it.")
def rotate(domain: str, force: bool) -> None:
    """Step one makes a new key to publish; run again once it is published, and it signs from then on."""
    from mailflow.outbound.dkim import KeyStore, signing_domains  # noqa: PLC0415
    from mailflow.errors import ValidationError  # noqa: PLC0415

    rt = runtime()
    domain = domain.lower().rstrip(".")
    if domain not in signing_domains(rt.config):
        raise ValidationError(f"{domain} is no From domain of this configuration")
    store = KeyStore(rt.config)
    waiting = next((s for s in store.of(domain) if s.status == "pending"), None)
    if waiting is None:
        made = store.rotate(domain, rt.now())
        click.echo(f"new key {made.selector} for {domain}: publish this record, then run this command again\n"
                   + _record(made).zone_line())
        return
    _activate(rt, store, waiting, force)


def _activate(rt: Runtime, store: KeyStore, waiting: Selector, force: bool) -> None:
    from mailflow import dns_records  # noqa: PLC0415
    from mailflow.errors import StorageError  # noqa: PLC0415
    from mailflow.resolver import Resolver  # noqa: PLC0415

    record = _record(waiting)
    finding = dns_records.check([record], Resolver(rt.config.dns))[0]
    if finding.state != "ok" and not force:
        raise StorageError(f"{record.name} is not published yet ({finding.state}): the new key would sign mail "
                           "nobody can verify; try again once DNS shows it (or --force)")
    active = store.activate(waiting.domain, rt.now())
    click.echo(f"{active.domain}: {active.selector} signs from now on; the previous key stays published "
               f"{rt.config.dkim.retire_days} days (`mailflow dns` lists it until then)")


def _record(selector: Selector) -> Record:
    from mailflow.dns_records import Record  # noqa: PLC0415
    from mailflow.outbound.dkim import public_record  # noqa: PLC0415

    return Record(selector.name, "TXT", public_record(Path(selector.path).read_bytes()), "DKIM, new key")
