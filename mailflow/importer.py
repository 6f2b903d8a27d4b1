"""CSV import of documents: rows checked and PDFs stored holding no lock, then one short transaction a batch.

Each batch's rows are read, checked, and their PDFs stored (content-addressed files) first; then one write
transaction, retried while the database is busy, publishes them, so `serve` keeps being served meanwhile.
A row already published identically is skipped ("already imported"), so running the same import again
resumes one that was interrupted; the same number with other content is that row's conflict.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from types import FrameType, TracebackType
from typing import Callable, Iterator

from peewee import IntegrityError

from mailflow import accounts, audit, documents
from mailflow.db import is_postgres, transaction
from mailflow.documents import CheckedDocument, DocumentInput, Publication, read_pdf_file
from mailflow.errors import Conflict, MailflowError, ValidationError
from mailflow.models import Customer
from mailflow.outbound import summary
from mailflow.runtime import Runtime
from mailflow.tabular import Row, Table

log = logging.getLogger(__name__)
COLUMNS = ("customer", "number", "type", "date", "amount", "pdf")
# Rows per transaction adapt so that each holds the write lock about LOCK_SECONDS: long enough that commits
# (an fsync each) cost little, short enough that `serve` and other writers barely wait. A document costs
# from one to several milliseconds to write, depending on how many people are told and how.
LOCK_SECONDS = 0.05
GAP_SECONDS = 0.03
FIRST_BATCH, MIN_BATCH, MAX_BATCH = 20, 5, 500


@dataclass
class ImportReport:
    """What an import committed so far: counts, refused rows, and the last line done."""

    imported: int = 0
    skipped: int = 0  # already published identically: a rerun
    errors: list[tuple[int, str]] = field(default_factory=list)
    line: int = 1  # every line up to this one is done and committed (1 is the header)
    summaries: int = 0  # mails of a coalesced import

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, batch: "ImportReport") -> None:
        self.imported, self.skipped = self.imported + batch.imported, self.skipped + batch.skipped
        self.errors.extend(batch.errors)
        self.line = batch.line

    def summary(self, stopped: str | None = None) -> str:
        counts = (f"imported {self.imported} document(s), {len(self.errors)} row(s) refused, "
                  f"{self.skipped} already imported")
        counts += f", {self.summaries} summary mail(s) queued" if self.summaries else ""
        if stopped is None:
            return counts
        return (f"{stopped} after line {self.line}: {counts}; nothing after line {self.line} is imported, "
                "run the same command again to go on")


@dataclass
class Batch:
    """Rows read and checked, PDFs stored: what one transaction publishes."""

    checked: ImportReport  # the rows refused before the transaction, and the batch's last line
    ready: list[tuple[int, CheckedDocument]]


def import_csv(rt: Runtime, table: Table, pdf_dir: Path, report: ImportReport, notify: str = "each",
               progress: Callable[[int], None] = lambda n: None, actor: str = "import") -> ImportReport:
    """Publish the table's rows into `report` batch by batch; then send what coalesced notices are owed.

    `report` always holds what is committed, also when this raises (Ctrl-C, a database gone).
    """
    run = Run(rt, pdf_dir, notify, actor, report, Pace(0.0 if is_postgres() else GAP_SECONDS))
    with run.interrupts:
        for rows in _batches(table.rows(), run.pace):
            before = report.line
            run.commit(run.prepare(rows))
            progress(report.line - before)
    report.summaries = summary.send_pending(rt)
    transaction(lambda: _audit(rt, actor, table, report, notify), "recording the import")
    return report


class Pace:
    """How many rows the next transaction takes, and when it begins.

    How many: from how long the last one held the write lock per document, aiming at LOCK_SECONDS.
    When: on SQLite, GAP_SECONDS after our last commit. A writer waiting for SQLite's lock polls it 1, 2, 5,
    10, 15, 20 and 25 ms apart, then every 50 to 100 ms: with only the few milliseconds of reading the next
    rows between two transactions, a process writing beside the import (`serve`) missed every gap for seconds
    (3.5 s, measured); with the gap, its slowest write took a tenth of that. PostgreSQL locks rows: no gap.
    """

    def __init__(self, gap: float) -> None:
        self.rows, self._gap = FIRST_BATCH, gap
        self._began = self._released = 0.0

    def wait_turn(self) -> None:
        time.sleep(max(0.0, self._released + self._gap - time.monotonic()))

    def began(self) -> None:
        """The write lock is ours (BEGIN IMMEDIATE done)."""
        self._began = time.monotonic()

    def held(self, documents: int) -> None:
        seconds = time.monotonic() - self._began
        log.debug("%d documents held the write lock %.1f ms", documents, seconds * 1000)
        if documents:
            self.rows = int(min(MAX_BATCH, max(MIN_BATCH, LOCK_SECONDS * documents / max(seconds, 1e-6))))

    def released(self) -> None:
        self._released = time.monotonic()


def _batches(rows: Iterator[Row], pace: Pace) -> Iterator[list[Row]]:
    while batch := list(islice(rows, pace.rows)):
        yield batch


class HeldInterrupts:
    """Ctrl-C as usual, except between a batch's last write and its being counted, when it waits for that:
    then the report says exactly what the database holds. Only the main thread can take signals."""

    def __init__(self) -> None:
        self._holding = self._caught = self._installed = False
        self._previous: object = None

    def __enter__(self) -> "HeldInterrupts":
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # ignored (a background job): stay so
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
            self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if not self._holding:
            raise KeyboardInterrupt
        self._caught = True

    def hold(self) -> None:
        self._holding = True

    def release(self) -> None:
        self._holding = False
        if self._caught:
            self._caught = False
            raise KeyboardInterrupt


@dataclass
class Run:
    """One import under way: where it reads PDFs, how it tells people, and what it has committed."""

    rt: Runtime
    pdf_dir: Path
    notify: str
    actor: str
    report: ImportReport
    pace: Pace
    interrupts: HeldInterrupts = field(default_factory=HeldInterrupts)

    def prepare(self, rows: list[Row]) -> Batch:
        batch = Batch(ImportReport(line=rows[-1].last), [])
        customers = lru_cache(maxsize=None)(accounts.get_customer)  # a batch's rows share a few customers
        for row in rows:
            try:
                batch.ready.append((row.first, self._checked(row, customers)))
            except MailflowError as exc:
                batch.checked.errors.append((row.first, exc.message))
        return batch

    def _checked(self, row: Row, customers: Callable[[str], Customer]) -> CheckedDocument:
        if row.problem:
            raise ValidationError(row.problem)
        cells = row.cells
        pdf, name = read_pdf_file(_inside(self.pdf_dir, cells["pdf"]))
        item = DocumentInput(cells["customer"], cells["number"], cells["type"], cells["date"], cells["amount"],
                             pdf, name)
        return documents.store_pdf(self.rt, documents.check(item, customers))

    def commit(self, batch: Batch) -> None:
        """Publish a batch in one transaction and count it, with Ctrl-C held from its last write until counted."""
        if not batch.ready:  # every row refused already: nothing to write
            self.report.add(batch.checked)
            return
        self.pace.wait_turn()
        outcome = _transaction(lambda: self._attempt(batch), f"importing lines up to {batch.checked.line}")
        self.pace.released()
        self.report.add(outcome)
        self.interrupts.release()

    def _attempt(self, batch: Batch) -> ImportReport:
        self.interrupts.release()  # a Ctrl-C held during an attempt that failed is honoured now
        self.pace.began()
        outcome = _publish(self.rt, batch, self.notify, self.actor)
        self.pace.held(len(batch.ready))
        self.interrupts.hold()
        return outcome


def _transaction(work: Callable[[], ImportReport], what: str) -> ImportReport:
    try:
        return transaction(work, what)
    except IntegrityError:  # PostgreSQL: another process published one of these numbers meanwhile
        return transaction(work, what)  # which the next attempt sees, and skips or refuses


def _publish(rt: Runtime, batch: Batch, notify: str, actor: str) -> ImportReport:
    """Within the transaction; a conflict is found before its row writes anything, so the rest goes on."""
    outcome = replace(batch.checked, errors=list(batch.checked.errors))  # afresh for each attempt
    publication = Publication(rt, [doc for _, doc in batch.ready], actor, notify)
    for line, doc in batch.ready:
        try:
            published = publication.publish_once(doc)
        except Conflict as exc:
            outcome.errors.append((line, exc.message))
            continue
        outcome.imported += published is not None
        outcome.skipped += published is None
    outcome.errors.sort()
    return outcome


def _audit(rt: Runtime, actor: str, table: Table, report: ImportReport, notify: str) -> None:
    audit.record(rt, actor, "document.import", table.name, imported=report.imported, skipped=report.skipped,
                 refused=len(report.errors), notify=notify, summaries=report.summaries)


def _inside(folder: Path, name: str) -> Path:
    """The PDF named by a row, refusing names that climb out of the PDF folder."""
    root = folder.resolve()
    try:
        target = (root / name.strip()).resolve()
    except ValueError:  # a NUL byte: no file can have that name
        target = None
    if not name.strip() or target is None or not target.is_relative_to(root):
        raise ValidationError(f"PDF name {name!r} must be a file inside {folder}", field="pdf")
    return target
