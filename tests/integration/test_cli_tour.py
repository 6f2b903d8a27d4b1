"""The README's tour as printed: a sample PDF made by mailflow itself, an outbox list that says what its columns
are and when there is nothing, and a demo that can start again from empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mailflow.cli import cli
from mailflow.models import AuditLog, Customer, Document, Issuer, Outbox, User


@pytest.fixture
def env(tmp_path: Path, database_url: str, rt) -> dict[str, str]:
    return {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
            "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"), "MAILFLOW_SECURITY_SECRET_KEY": "k",
            "MAILFLOW_WEB_BASE_URL": "https://portal.example.test"}


def run(env: dict[str, str], *args: str):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_the_tour_makes_its_own_pdf_and_the_outbox_list_has_a_header(env, tmp_path):
    assert run(env, "outbox", "list").output == "the outbox is empty\n"
    pdf = tmp_path / "invoice.pdf"
    assert run(env, "sample-pdf", str(pdf)).exit_code == 0 and pdf.read_bytes().startswith(b"%PDF-")
    run(env, "customer", "add", "DL2123456", "--company", "Garage Dupont SRL", "--email", "marie.dupont@example.be",
        "--first-name", "Marie", "--language", "fr")
    added = run(env, "document", "add", "DL2123456", "--number", "F2026-0042", "--type", "invoice", "--date",
                "2026-11-02", "--amount", "1234.56", "--pdf", str(pdf))
    assert added.exit_code == 0, added.output
    header, *rows = run(env, "outbox", "list").output.splitlines()
    assert header.split("\t")[:4] == ["id", "status", "kind", "recipient"] and len(rows) == 1
    assert run(env, "outbox", "list", "--status", "failed").output == "no failed mail in the outbox\n"


def test_demo_reset_starts_again_from_empty_keeping_the_issuers(env):
    assert run(env, "demo").exit_code == 0
    Customer.update(company="Changed").execute()
    again = run(env, "demo", "--reset")
    assert again.exit_code == 0, again.output
    assert Customer.select().where(Customer.company == "Changed").count() == 0
    assert Customer.select().count() == 12 and Issuer.select().count() == 2
    assert Outbox.select().where(Outbox.status == "queued").count() == 5 and Document.select().count() > 400
    assert User.select().count() > 12 and AuditLog.select().where(AuditLog.action == "demo.reset").count() == 1
