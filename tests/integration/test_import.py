"""`mailflow document import` as operators use it: spreadsheets' encodings and amounts, bad rows among good
ones, reruns, and who is told how (each, coalesce, none)."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailflow import actions, tabular
from mailflow.accounts import Person
from mailflow.cli import cli
from mailflow.models import AuditLog, Document, Notification, Outbox
from mailflow.pdf import simple_pdf
from tests.support import factories
from tests.support.processes import mailflow_env

HEADER = "customer,number,type,date,amount,pdf\n"
PIET = Person("piet@boekhouding.example", "Piet", "Janssens", "nl")


@pytest.fixture
def env(rt) -> dict[str, str]:
    return mailflow_env(rt.config)


@pytest.fixture
def people(rt) -> None:
    """Marie (fr, primary) and Jan (nl, shared) on DL2123456, told at once; Marie also on DL2654321."""
    factories.customer(rt)
    factories.share(rt)
    factories.customer(rt, "DL2654321", company="Dupont Immo SA")


@pytest.fixture
def pdfs(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs-in"
    folder.mkdir()
    for n in range(1, 6):
        (folder / f"f{n}.pdf").write_bytes(simple_pdf(f"F{n}"))
    return folder


def run(env: dict[str, str], csv_file: Path, pdfs: Path, *more: str):
    return CliRunner().invoke(cli, ["document", "import", str(csv_file), "--pdf-dir", str(pdfs), *more], env=env,
                              catch_exceptions=False)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def amounts() -> dict[str, int]:
    return {doc.number: doc.amount_cents for doc in Document.select()}


def text_of(raw: bytes | memoryview) -> str:  # PostgreSQL hands bytea back as a memoryview
    return email.message_from_bytes(bytes(raw), policy=policy.default).get_body(("plain",)).get_content()


def test_belgian_excel_file_windows_1252_semicolons_and_comma_decimals(env, people, pdfs, tmp_path):
    (pdfs / "facture-été.pdf").write_bytes(simple_pdf("été"))
    csv_file = write(tmp_path / "export.csv", (
        " Customer ;Number;TYPE;Date;Amount;PDF;Société\r\n"
        "DL2123456;F2026-0001;invoice;2026-10-01;1.234,56;facture-été.pdf;Crédit Agricole à Liège\r\n"
        "DL2123456;F2026-0002;credit_note;2026-10-02;0,99;f2.pdf;Œuvre d'été\r\n"
        "DL2654321;F2026-0003;invoice;2026-10-03;1 000 000;f3.pdf;Garage Müller €\r\n"), "cp1252")
    result = run(env, csv_file, pdfs)
    assert result.exit_code == 0, result.output
    assert "imported 3 document(s), 0 row(s) refused, 0 already imported" in result.output
    assert amounts() == {"F2026-0001": 123456, "F2026-0002": 99, "F2026-0003": 100000000}
    assert Document.get(Document.number == "F2026-0001").pdf_name == "facture-été.pdf"


def test_utf8_with_a_byte_order_mark_tabs_and_english_amounts(env, people, pdfs, tmp_path):
    csv_file = write(tmp_path / "export.tsv", (
        "customer\tnumber\ttype\tdate\tamount\tpdf\tnote\n"
        "DL2123456\tF2026-0001\tinvoice\t2026-10-01\t1,234.56\tf1.pdf\t\"Zürich,\nzwei Zeilen\"\n"
        "DL2123456\tF2026-0002\tinvoice\t2026-10-02\t1\u00a0234,5\tf2.pdf\tŁódź\n"), "utf-8-sig")
    result = run(env, csv_file, pdfs)
    assert result.exit_code == 0, result.output
    assert amounts() == {"F2026-0001": 123456, "F2026-0002": 123450}


def test_bad_rows_among_good_ones_are_each_reported_and_the_rest_imported(env, people, pdfs, tmp_path):
    lines = [HEADER.rstrip("\n"),
             "DL2123456,F2026-0001,invoice,2026-10-01,10,f1.pdf",
             "DL2123456," + "X" * 128 * 1024 + ",invoice,2026-10-02,10,f2.pdf",  # a 128 KiB cell
             "DL2123456,F2026-0003,invoice,2026-10-03,1.234,f3.pdf",  # thousands or decimals?
             "DL2123456,F2026-0004,invoice",
             "DL2123456,F2026-0005,invoice,2026-10-05,10,f5.pdf,café",
             "DL2123456,F2026-0006,invoice,2026-10-06,10," + "y" * (2 << 20) + ".pdf",  # longer than a line may be
             "DL2123456,F2026-0007,invoice,2026-13-07,10,f1.pdf",
             "DL2123456,F2026-0008,invoice,2026-10-08,10,f2.pdf"]
    data = "\n".join(lines).encode("cp1252").replace("café".encode("cp1252"), b"caf\x81") + b"\n"
    csv_file = tmp_path / "bad.csv"
    csv_file.write_bytes(data)
    result = run(env, csv_file, pdfs)
    assert result.exit_code == 65
    assert "imported 2 document(s), 6 row(s) refused, 0 already imported" in result.output
    for line, reason in [(3, "column number is too long (131072 characters"), (4, "ambiguous"),
                         (5, "wrong number of fields"), (6, "byte 0x81 at position"), (7, "longer than"),
                         (8, "is not a date")]:
        assert f"line {line}: " in result.output and reason in result.output, (line, result.output)
    assert sorted(amounts()) == ["F2026-0001", "F2026-0008"]
    assert "Traceback" not in result.output


def test_a_header_lacking_columns_says_what_it_found_and_how_it_read_the_file(env, pdfs, tmp_path):
    csv_file = write(tmp_path / "nl.csv", "Klant;Nummer;Type;Datum;Bedrag;PDF\nDL2123456;F1;invoice;x;y;z\n")
    result = run(env, csv_file, pdfs)
    assert result.exit_code == 65
    assert "lacks column(s): customer, number, date, amount" in result.output
    assert "'Klant', 'Nummer'" in result.output and "semicolons" in result.output


def test_notify_none_publishes_history_without_a_single_mail(env, people, pdfs, tmp_path):
    csv_file = write(tmp_path / "history.csv", HEADER + "".join(
        f"DL2123456,F2019-{n:04d},invoice,2019-01-{n:02d},10,f{n % 5 + 1}.pdf\n" for n in range(1, 21)))
    result = run(env, csv_file, pdfs, "--notify", "none")
    assert result.exit_code == 0, result.output
    assert Document.select().count() == 20
    assert Outbox.select().count() == 0 and Notification.select().count() == 0
    published = AuditLog.select().where(AuditLog.action == "document.publish")
    assert published.count() == 20 and all(json.loads(row.detail)["notify"] == "none" for row in published)
    summary = AuditLog.get(AuditLog.action == "document.import")
    assert {"imported": 20, "notify": "none"}.items() <= json.loads(summary.detail).items()


def test_notify_coalesce_sends_one_mail_per_recipient_in_their_language_listing_everything(
        rt, env, people, pdfs, tmp_path):
    piet = factories.share(rt, person=PIET)
    actions.set_frequency(rt, piet, "weekly")
    rows = [f"{customer},F2026-{n:04d},invoice,2026-10-{n:02d},{n},f{n % 5 + 1}.pdf\n"
            for n, customer in enumerate(["DL2123456", "DL2654321"] * 6, start=1)]
    result = run(env, write(tmp_path / "batch.csv", HEADER + "".join(rows)), pdfs, "--notify", "coalesce")
    assert result.exit_code == 0, result.output
    assert "imported 12 document(s)" in result.output and "2 summary mail(s) queued" in result.output
    mails = {row.recipient: row for row in Outbox.select()}
    assert set(mails) == {"marie.dupont@example.be", "compta@fiduciaire.example"}
    marie, jan = text_of(mails["marie.dupont@example.be"].raw), text_of(mails["compta@fiduciaire.example"].raw)
    assert "Voici les nouveaux documents" in marie and "DL2654321" in marie
    assert all(f"F2026-{n:04d}" in marie for n in range(1, 13))
    assert "Hier zijn de nieuwe documenten" in jan and "DL2654321" not in jan
    assert [n for n in range(1, 13) if f"F2026-{n:04d}" in jan] == list(range(1, 13, 2))
    weekly = Notification.select().where(Notification.user == piet)
    assert {(note.frequency, note.status) for note in weekly} == {("weekly", "pending")}
    told = Notification.select().where(Notification.user != piet)
    assert {note.outbox_id for note in told} == {row.id for row in mails.values()}

    more = write(tmp_path / "more.csv", HEADER + "DL2123456,F2026-0100,invoice,2026-11-01,5,f1.pdf\n")
    assert run(env, more, pdfs, "--notify", "coalesce").exit_code == 0
    assert Outbox.select().count() == 4, "one more summary each for the next import, listing only its document"
    latest = Outbox.select().order_by(Outbox.id.desc()).first()
    assert "F2026-0100" in text_of(latest.raw) and "F2026-0001" not in text_of(latest.raw)


def test_notify_each_is_as_before_one_mail_per_document_and_recipient(env, people, pdfs, tmp_path):
    csv_file = write(tmp_path / "each.csv", HEADER + "DL2123456,F2026-0001,invoice,2026-10-01,10,f1.pdf\n"
                                                     "DL2123456,F2026-0002,invoice,2026-10-02,10,f2.pdf\n")
    assert run(env, csv_file, pdfs).exit_code == 0
    assert Outbox.select().where(Outbox.kind == "notice").count() == 4


def test_an_identical_rerun_skips_everything_and_mails_no_one_again(env, people, pdfs, tmp_path):
    csv_file = write(tmp_path / "docs.csv", HEADER + "".join(
        f"DL2123456,F2026-{n:04d},invoice,2026-10-{n:02d},{n}0,f{n}.pdf\n" for n in range(1, 6)))
    assert run(env, csv_file, pdfs).exit_code == 0
    mails = Outbox.select().count()
    again = run(env, csv_file, pdfs)
    assert again.exit_code == 0, again.output
    assert "imported 0 document(s), 0 row(s) refused, 5 already imported" in again.output
    assert Document.select().count() == 5 and Outbox.select().count() == mails


def test_the_same_number_with_other_content_is_a_conflict_naming_what_differs(env, people, pdfs, tmp_path):
    assert run(env, write(tmp_path / "a.csv", HEADER + "DL2123456,F2026-0001,invoice,2026-10-01,10,f1.pdf\n"
                                                       "DL2123456,F2026-0002,invoice,2026-10-02,10,f2.pdf\n"),
               pdfs).exit_code == 0
    changed = run(env, write(tmp_path / "b.csv", HEADER + "DL2123456,F2026-0001,invoice,2026-10-01,10.01,f1.pdf\n"
                                                          "DL2123456,F2026-0002,invoice,2026-10-02,10,f3.pdf\n"
                                                          "DL2123456,F2026-0003,invoice,2026-10-03,10,f3.pdf\n"),
                  pdfs)
    assert changed.exit_code == 65
    assert "line 2: document F2026-0001 already exists for issuer DL2 with another amount" in changed.output
    assert "line 3: document F2026-0002 already exists for issuer DL2 with another PDF" in changed.output
    assert "imported 1 document(s), 2 row(s) refused" in changed.output
    assert amounts() == {"F2026-0001": 1000, "F2026-0002": 1000, "F2026-0003": 1000}


def test_a_coalesced_import_cut_short_is_told_by_the_next_import(rt, env, people, pdfs, tmp_path, monkeypatch):
    """The summaries are owed by pending notifications in the database, not by the process that made them."""
    from mailflow.outbound import summary

    def lost(rt):  # the import stops between its last commit and its summaries
        raise KeyboardInterrupt

    monkeypatch.setattr(summary, "send_pending", lost)
    first = run(env, write(tmp_path / "a.csv", HEADER + "DL2123456,F2026-0001,invoice,2026-10-01,10,f1.pdf\n"),
                pdfs, "--notify", "coalesce")
    assert first.exit_code == 130 and "interrupted after line 2: imported 1 document(s)" in first.output
    assert Outbox.select().count() == 0
    monkeypatch.undo()
    second = run(env, write(tmp_path / "b.csv", HEADER + "DL2123456,F2026-0002,invoice,2026-10-02,10,f2.pdf\n"),
                 pdfs, "--notify", "none")
    assert second.exit_code == 0 and "2 summary mail(s) queued" in second.output
    marie = Outbox.get(Outbox.recipient == "marie.dupont@example.be")
    assert "F2026-0001" in text_of(marie.raw) and "F2026-0002" not in text_of(marie.raw)


def test_utf16_is_refused_with_what_to_do(env, pdfs, tmp_path):
    result = run(env, write(tmp_path / "u.csv", HEADER, "utf-16"), pdfs)
    assert result.exit_code == 65 and "UTF-16" in result.output and "CSV UTF-8" in result.output


def test_table_reads_old_mac_line_ends_skips_blank_rows_and_trailing_empty_cells(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"customer;number;type;date;amount;pdf\r"
                     b"DL2123456;F1;invoice;2026-10-01;1;f1.pdf;;\r;;;;;\r\r"
                     b"DL2123456;F2;invoice;2026-10-02;2;f2.pdf\r")
    with tabular.Table(path, ("customer", "number", "pdf")) as table:
        rows = list(table.rows())
    assert [(row.first, row.cells.get("number"), row.problem) for row in rows] == [(2, "F1", None), (5, "F2", None)]
    assert table.described() == "UTF-8 with semicolons between columns"


def test_a_quote_never_closed_is_one_unreadable_row_and_reading_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "MAX_LINE", 1000)  # csv's field limit follows
    path = tmp_path / "quote.csv"
    path.write_text("customer,number,pdf\nDL1,F1,a.pdf\nDL2,\"F2 never closed,b.pdf\n"
                    + "".join(f"{'z' * 60}\n" for _ in range(30)) + "DL3,F3,c.pdf\n")
    with tabular.Table(path, ("customer", "number", "pdf")) as table:
        rows = list(table.rows())
    assert [(row.first, row.last) for row in rows[:2]] == [(2, 2), (3, 20)]
    assert rows[1].problem.startswith("unreadable CSV (field larger than field limit (1000))")
    assert all(row.problem.startswith("wrong number of fields") for row in rows[2:-1])  # the quote's leftovers
    assert (rows[-1].first, rows[-1].cells) == (34, {"customer": "DL3", "number": "F3", "pdf": "c.pdf"})
