"""CSV import of documents: streamed row by row, good rows published, bad rows reported with the reason."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from mailflow.documents import DocumentInput, publish, read_pdf_file
from mailflow.errors import MailflowError, ValidationError
from mailflow.runtime import Runtime

COLUMNS = ("customer", "number", "type", "date", "amount", "pdf")
BATCH = 200  # rows per commit: one fsync per batch instead of per row


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_csv(rt: Runtime, csv_path: Path, pdf_dir: Path, progress: Callable[[int], None] = lambda n: None,
               actor: str = "import") -> ImportReport:
    report = ImportReport()
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        rows = _rows(handle)
        while batch := [row for _, row in zip(range(BATCH), rows)]:
            with rt.db.atomic():
                for line, record in batch:
                    _import_one(rt, line, record, pdf_dir, report, actor)
            progress(len(batch))
    return report


def _rows(handle: io.TextIOBase) -> Iterator[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(handle)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"CSV header lacks column(s): {', '.join(missing)} "
                              f"(expected {','.join(COLUMNS)})", field="csv")
    for record in reader:
        if None in record or any(v is None for v in record.values()):
            yield reader.line_num, "wrong number of fields"
        else:
            yield reader.line_num, record


def _import_one(rt: Runtime, line: int, record: dict[str, str] | str, pdf_dir: Path, report: ImportReport,
                actor: str) -> None:
    try:
        if isinstance(record, str):
            raise ValidationError(record)
        with rt.db.atomic():  # a savepoint: a failing row leaves the batch's other rows alone
            publish(rt, _input(record, pdf_dir), actor=actor)
        report.imported += 1
    except MailflowError as exc:
        report.errors.append((line, exc.message))


def _input(record: dict[str, str], pdf_dir: Path) -> DocumentInput:
    pdf, name = read_pdf_file(_inside(pdf_dir, record["pdf"]))
    return DocumentInput(record["customer"], record["number"], record["type"], record["date"], record["amount"],
                         pdf, name)


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


def count_rows(csv_path: Path) -> int:
    with csv_path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)
