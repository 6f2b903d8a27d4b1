"""CLI: publishing documents one by one or from CSV."""

from __future__ import annotations

from pathlib import Path

import click
from peewee import DatabaseError, InterfaceError

from mailflow import documents, importer
from mailflow.cli.scheduler import progress
from mailflow.cli.state import runtime
from mailflow.db import first_line
from mailflow.errors import MailflowError, StorageError
from mailflow.models import Customer, Document
from mailflow.pdf import simple_pdf
from mailflow.tabular import Table


def register(cli: click.Group) -> None:
    cli.add_command(document)
    cli.add_command(sample_pdf)


@click.command("sample-pdf")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--title", default="Sample invoice", show_default=True, help="The text on the page.")
def sample_pdf(path: str, title: str) -> None:
    """Write a one-page PDF to PATH, to try `document add` with (the README's tour uses it)."""
    Path(path).write_bytes(simple_pdf(title))
    click.echo(f"wrote {path}")


@click.group()
def document() -> None:
    """Documents: publish, import, list."""


@document.command("add")
@click.argument("customer")
@click.option("--number", required=True, help="Document number, e.g. F2026-0042.")
@click.option("--type", "doc_type", required=True, help="invoice or credit_note.")
@click.option("--date", "doc_date", required=True, help="YYYY-MM-DD.")
@click.option("--amount", required=True, help="Amount incl. VAT, e.g. 1234.56.")
@click.option("--pdf", "pdf_path", required=True, help="The PDF file.")
def document_add(customer: str, number: str, doc_type: str, doc_date: str, amount: str, pdf_path: str) -> None:
    """Publish one document of CUSTOMER and notify its recipients."""
    rt = runtime()
    pdf, name = documents.read_pdf_file(pdf_path)
    doc = documents.publish(rt, documents.DocumentInput(customer, number, doc_type, doc_date, amount, pdf, name),
                            actor="cli")
    click.echo(f"published {doc.number} for {doc.customer.number}")


@document.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pdf-dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder holding the PDFs named in the CSV's pdf column.")
@click.option("--notify", "notify_mode", type=click.Choice(documents.NOTIFY_MODES), default="each",
              show_default=True,
              help="each: every recipient as their preference says; coalesce: one mail per recipient for the "
                   "whole import (digest subscribers keep their digest); none: no mail at all (history).")
def document_import(csv_file: Path, pdf_dir: Path, notify_mode: str) -> None:
    """Publish every row of CSV_FILE (columns: customer,number,type,date,amount,pdf).

    UTF-8 or Windows-1252, commas, semicolons or tabs. Rows already published identically are skipped, so
    running the same import again resumes one that was interrupted. Exit 65 when a row was refused, 75 when
    the database failed, 130 on Ctrl-C: in every case after a summary of what was committed.
    """
    report = importer.ImportReport()
    try:
        _import(csv_file, pdf_dir, notify_mode, report)
    except KeyboardInterrupt:
        _show(report, "interrupted")
        raise SystemExit(130) from None
    except (StorageError, DatabaseError, InterfaceError) as exc:  # retried while busy, and still failing
        _show(report, "stopped: the database failed")
        if isinstance(exc, StorageError):
            raise
        raise StorageError(f"the database failed: {first_line(exc)}") from exc
    except MailflowError:  # the file as a whole: unreadable, or a header without the columns
        _show(report)
        raise
    _show(report)
    if report.errors:
        raise SystemExit(65)


def _import(csv_file: Path, pdf_dir: Path, notify_mode: str, report: importer.ImportReport) -> None:
    rt = runtime()
    with Table(csv_file, importer.COLUMNS) as table, progress(table.layout.lines - 1, "importing") as step:
        importer.import_csv(rt, table, pdf_dir, report, notify_mode, progress=step)


def _show(report: importer.ImportReport, stopped: str | None = None) -> None:
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    click.echo(report.summary(stopped))


@document.command("list")
@click.option("--customer", default=None)
@click.option("--limit", default=50, show_default=True)
def document_list(customer: str | None, limit: int) -> None:
    """List the newest documents."""
    runtime()
    query = Document.select().order_by(Document.date.desc(), Document.id.desc()).limit(limit)
    if customer:
        query = query.join(Customer).where(Customer.number == customer.upper())
    for doc in query:
        click.echo(f"{doc.id}\t{doc.customer.number}\t{doc.number}\t{doc.type}\t{doc.date}\t{doc.amount_cents / 100:.2f}")
