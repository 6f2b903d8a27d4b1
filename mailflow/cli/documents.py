"""CLI: publishing documents one by one or from CSV."""

from __future__ import annotations

from pathlib import Path

import click

from mailflow import documents, importer
from mailflow.cli.state import runtime
from mailflow.models import Customer, Document


def register(cli: click.Group) -> None:
    cli.add_command(document)


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
def document_import(csv_file: Path, pdf_dir: Path) -> None:
    """Publish every row of CSV_FILE (columns: customer,number,type,date,amount,pdf)."""
    rt = runtime()
    with click.progressbar(length=importer.count_rows(csv_file), label="importing", file=click.get_text_stream("stderr")) as bar:
        report = importer.import_csv(rt, csv_file, pdf_dir, progress=bar.update)
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    click.echo(f"imported {report.imported} document(s), {len(report.errors)} row(s) refused")
    if report.errors:
        raise SystemExit(65)


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
