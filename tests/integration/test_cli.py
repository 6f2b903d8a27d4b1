"""The mailflow command as people type it: the quick tour works, every bad input is refused and changes nothing."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailflow.cli import cli
from mailflow.migrations import available
from mailflow.models import Customer, Document, Notification, Outbox, SchemaVersion, User
from mailflow.pdf import simple_pdf


@pytest.fixture
def env(tmp_path: Path, database_url: str, rt) -> dict[str, str]:
    """Environment pointing the CLI at the test database (already migrated and emptied by `rt`)."""
    return {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
            "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"), "MAILFLOW_SECURITY_SECRET_KEY": "k",
            "MAILFLOW_WEB_BASE_URL": "https://portal.example.test"}


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(simple_pdf("Invoice F2026-0042"))
    return path


def run(env: dict[str, str], *args: str):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def add_marie(env):
    return run(env, "customer", "add", "DL2123456", "--company", "Garage Dupont SRL", "--enterprise-number",
               "BE0403170701", "--email", "marie.dupont@example.be", "--first-name", "Marie", "--last-name",
               "Dupont", "--language", "fr")


def counts() -> tuple[int, ...]:
    return tuple(m.select().count() for m in (Customer, User, Document, Notification, Outbox))


def test_quick_tour_delivers_two_mails_into_the_maildir(env, pdf, tmp_path):
    assert add_marie(env).exit_code == 0
    shared = run(env, "user", "share", "DL2123456", "compta@fiduciaire.example", "--first-name", "Jan",
                 "--last-name", "Peeters", "--language", "nl")
    assert shared.exit_code == 0, shared.output
    added = run(env, "document", "add", "DL2123456", "--number", "F2026-0042", "--type", "invoice", "--date",
                "2026-11-02", "--amount", "1234.56", "--pdf", str(pdf))
    assert added.exit_code == 0, added.output
    listed = run(env, "outbox", "list")
    assert listed.output.count("queued") == 2
    assert "sent 2" in run(env, "outbox", "flush").output
    delivered = list((tmp_path / "maildir" / "new").iterdir())
    assert len(delivered) == 2
    subjects = [str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
                for p in delivered]
    assert any(s.startswith("Vos documents Lease Services\u00a0:") for s in subjects), subjects
    assert any(s.startswith("Uw documenten van Lease Services") for s in subjects), subjects


BAD_CUSTOMERS = [
    (["XX9123456"], "unknown issuer prefix"),
    (["DL2123456", "--enterprise-number", "BE0403170702"], "invalid enterprise number"),
    (["DL2123456", "--email", "not-an-address"], "invalid email address"),
    (["DL2123456", "--language", "xx"], "unsupported language"),
]


@pytest.mark.parametrize(("args", "message"), BAD_CUSTOMERS)
def test_bad_customers_are_refused_and_change_nothing(env, args, message):
    base = {"--company": "ACME", "--email": "a@example.be"}
    extra = dict(zip(args[1::2], args[2::2]))
    options = [item for key, value in (base | extra).items() for item in (key, value)]
    before = counts()
    result = run(env, "customer", "add", args[0], *options)
    assert result.exit_code != 0 and message in result.output
    assert counts() == before


def test_existing_customer_number_is_a_conflict(env):
    add_marie(env)
    before = counts()
    result = add_marie(env)
    assert result.exit_code != 0 and "already exists" in result.output and counts() == before


BAD_DOCUMENTS = [
    ({"--amount": "-5"}, "must be zero or positive"),
    ({"--amount": "abc"}, "is not a number"),
    ({"--amount": "12.3456"}, "at most 2 decimals"),
    ({"--amount": "12.345"}, "ambiguous"),
    ({"--type": "receipt"}, "unknown document type"),
    ({"--date": "2026-13-01"}, "is not a date"),
    ({"--pdf": "/nonexistent/file.pdf"}, "PDF file not found"),
]


@pytest.mark.parametrize(("override", "message"), BAD_DOCUMENTS)
def test_bad_documents_are_refused_and_change_nothing(env, pdf, override, message):
    add_marie(env)
    options = {"--number": "F2026-0042", "--type": "invoice", "--date": "2026-11-02", "--amount": "10",
               "--pdf": str(pdf)} | override
    before = counts()
    result = run(env, "document", "add", "DL2123456", *[x for kv in options.items() for x in kv])
    assert result.exit_code != 0 and message in result.output, result.output
    assert counts() == before


def test_not_a_pdf_and_unknown_customer_and_duplicate_number(env, pdf, tmp_path):
    add_marie(env)
    text = tmp_path / "notes.pdf"
    text.write_text("hello")
    common = ["--number", "F2026-0042", "--type", "invoice", "--date", "2026-11-02", "--amount", "10"]
    assert "is not a PDF" in run(env, "document", "add", "DL2123456", *common, "--pdf", str(text)).output
    assert "unknown customer number" in run(env, "document", "add", "DL2999999", *common, "--pdf", str(pdf)).output
    assert run(env, "document", "add", "DL2123456", *common, "--pdf", str(pdf)).exit_code == 0
    before = counts()
    again = run(env, "document", "add", "DL2123456", *common, "--pdf", str(pdf))
    assert again.exit_code != 0 and "already exists" in again.output and counts() == before


def test_csv_import_publishes_good_rows_and_reports_bad_ones(env, tmp_path):
    add_marie(env)
    pdfs = tmp_path / "pdfs-in"
    pdfs.mkdir()
    for n in (1, 2, 3):
        (pdfs / f"f{n}.pdf").write_bytes(simple_pdf(f"F{n}"))
    (tmp_path / "secret.pdf").write_bytes(simple_pdf("outside"))
    csv_file = tmp_path / "docs.csv"
    csv_file.write_text(
        "customer,number,type,date,amount,pdf\n"
        "DL2123456,F2026-0001,invoice,2026-10-01,100.00,f1.pdf\n"
        "DL2123456,F2026-0002,credit_note,2026-10-02,-3,f2.pdf\n"
        "XX1000000,F2026-0003,invoice,2026-10-03,10,f3.pdf\n"
        "DL2123456,F2026-0004,invoice,2026-10-04,10,missing.pdf\n"
        "DL2123456,F2026-0005,invoice,2026-10-05,10,../secret.pdf\n"
        "DL2123456,F2026-0001,invoice,2026-10-01,100.01,f1.pdf\n"
        "DL2123456,F2026-0006,invoice\n"
        "DL2123456,F2026-0007,invoice,2026-10-07,77.70,f3.pdf\n")
    result = run(env, "document", "import", str(csv_file), "--pdf-dir", str(pdfs))
    assert result.exit_code == 65
    assert "imported 2 document(s), 6 row(s) refused" in result.output
    for line, reason in [(3, "must be zero or positive"), (4, "unknown"), (5, "PDF file not found"),
                         (6, "must be a file inside"), (7, "already exists for issuer DL2 with another amount"), (8, "wrong number of fields")]:
        assert f"line {line}: " in result.output and reason in result.output
    assert sorted(d.number for d in Document.select()) == ["F2026-0001", "F2026-0007"]


def test_csv_without_the_right_header_is_refused(env, tmp_path):
    csv_file = tmp_path / "docs.csv"
    csv_file.write_text("klant,nummer\nDL2123456,F1\n")
    result = run(env, "document", "import", str(csv_file), "--pdf-dir", str(tmp_path))
    assert result.exit_code == 65 and "lacks column(s): customer, number" in result.output


def test_wrong_configuration_names_the_key(env):
    result = run(env | {"MAILFLOW_OUTBOUND_TRANSPORT": "pigeon"}, "outbox", "list")
    assert result.exit_code == 78 and "[outbound] transport must be maildir or smtp" in result.output
    result = run(env | {"MAILFLOW_WEB_PORT": "eighty"}, "outbox", "list")
    assert result.exit_code == 78 and "MAILFLOW_WEB_PORT must be an integer" in result.output


def test_python_dash_m_runs_the_same_command(env):
    result = subprocess.run([sys.executable, "-m", "mailflow", "customer", "list"], env=os.environ | env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_init_applies_the_migrations_once(env):
    versions = [number for number, _, _ in available()]
    first = run(env, "init")
    assert first.exit_code == 0 and f"schema version {versions[-1]}" in first.output
    assert run(env, "init").exit_code == 0
    assert [v.version for v in SchemaVersion.select()] == versions


def test_demo_fills_an_empty_database_and_refuses_a_filled_one(env):
    result = run(env, "demo")
    assert result.exit_code == 0 and "Try next" in result.output
    assert Customer.select().count() == 12 and {c.number[:3] for c in Customer.select()} == {"DL2", "DL5"}
    assert Document.select().count() > 400
    assert Outbox.select().where(Outbox.status == "queued").count() == 5  # this month's notices, shared users too
    before = counts()
    again = run(env, "demo")
    assert again.exit_code == 65 and "already has customers" in again.output and counts() == before
