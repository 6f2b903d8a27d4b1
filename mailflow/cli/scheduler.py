"""CLI: digests by hand (`digest run`) and the lifecycle jobs (`lifecycle run`)."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import click

from mailflow.cli.state import runtime
from mailflow.errors import StorageError
from mailflow.scheduler import digests, retention
from mailflow.scheduler.digests import Pending
from mailflow.scheduler.periods import CADENCES, Period


def register(cli: click.Group) -> None:
    cli.add_command(digest)
    cli.add_command(lifecycle)


@click.group()
def digest() -> None:
    """Daily, weekly and monthly summaries of new documents."""


@digest.command("run")
@click.option("--frequency", type=click.Choice(CADENCES), required=True)
@click.option("--now", "moment", default=None, metavar="ISO-DATETIME",
              help="Run as if at this moment (local [scheduler] timezone unless an offset is given). "
                   "Default: now.")
@click.option("--dry-run", is_flag=True, help="Print who would get what; change nothing.")
@click.option("--batch", default=digests.CHUNK, show_default=True, type=click.IntRange(1, 10_000),
              help="Recipients per transaction.")
def digest_run(frequency: str, moment: str | None, dry_run: bool, batch: int) -> None:
    """Send the digests of the period a run at --now covers; a digest already sent is never sent again."""
    rt = runtime()
    when = parse_moment(moment, rt.config.scheduler.timezone) if moment else rt.now()
    period = digests.period_for(rt, frequency, when)
    if dry_run:
        show_plan(digests.plan(rt, period, batch), period)
        return
    with progress(digests.count_recipients(period), f"{frequency} digests") as step:
        report = digests.run(rt, frequency, when, batch, progress=step)
    click.echo(report.summary())


def parse_moment(value: str, zone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date-time such as 2026-11-02T07:00",
                                 param_hint="--now") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; elsewhere nothing until the summary line."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def show_plan(plan: Iterator[Pending], period: Period) -> None:
    would, skip = 0, 0
    for pending in plan:
        click.echo(describe(pending))
        would, skip = would + (not pending.already_sent), skip + pending.already_sent
    click.echo(f"dry run, nothing changed: {period.frequency} digest {period.first_day}..{period.last_day}: "
               f"{would} digests would be sent, {skip} already sent")


def describe(pending: Pending) -> str:
    groups = "; ".join(f"{group.customer.number}: " + ", ".join(
        entry.document.number + (" (viewed)" if entry.viewed else "") for entry in group.entries)
        for group in pending.groups)
    state = " [already sent, skipped]" if pending.already_sent else ""
    hidden = f" (+{len(pending.hidden)} no longer visible, dropped)" if pending.hidden else ""
    return f"{pending.user.email} ({pending.user.language}): {pending.documents} documents{hidden}{state}: {groups}"


@click.group()
def lifecycle() -> None:
    """Retention and expiry: old documents, raw mail, tokens, sessions, codes, bounce scores."""


@lifecycle.command("run")
def lifecycle_run() -> None:
    """Run every lifecycle step now and print what each did."""
    results = retention.run_all(runtime())
    for name, count in results.items():
        click.echo(f"{name}: {'FAILED (see log)' if count is None else count}")
    failed = [name for name, count in results.items() if count is None]
    if failed:  # every step is safe to run again; the others already did their work
        raise StorageError(f"lifecycle step(s) {', '.join(failed)} failed (see the log), run it again")
