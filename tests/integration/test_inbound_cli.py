"""`mailflow inbound` as an MTA and staff run it: deliver (exit 0 / 75), process, reprocess, inspect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailflow.models import InboundMessage, Outbox, Preference
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.inbound import message, postfix_dsn, rows, table_moved_away

MARIE = factories.MARIE.email


@pytest.fixture
def env(tmp_path: Path, database_url: str, rt) -> dict[str, str]:
    """The CLI pointed at the test database (migrated and emptied by `rt`) with the test's secret key."""
    return {**os.environ, "MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
            "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"), "MAILFLOW_SECURITY_SECRET_KEY": "test-secret-key",
            "MAILFLOW_WEB_BASE_URL": "https://portal.example.test"}


def mailflow(env: dict[str, str], *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mailflow", *args], input=stdin, env=env, capture_output=True,
                          timeout=120, check=False)


def test_deliver_stores_the_message_with_its_envelope_and_exits_0(env):
    raw = message(body="Bonjour")
    done = mailflow(env, "inbound", "deliver", "--sender", MARIE, "--recipient", "reply+x@reply.mailflow.example",
                    stdin=raw)
    assert done.returncode == 0, done.stderr
    [row] = rows()
    assert (row.door, bytes(row.raw), row.envelope_from, row.envelope_to) == (
        "pipe", raw, MARIE, "reply+x@reply.mailflow.example")
    assert mailflow(env, "inbound", "deliver", stdin=raw).returncode == 0  # Postfix retried: still one row
    assert len(rows()) == 1


def test_deliver_exits_75_when_the_database_cannot_be_written(env, rt):
    with table_moved_away(rt):
        done = mailflow(env, "inbound", "deliver", stdin=message())
    assert done.returncode == 75 and b"not stored" in done.stderr
    assert rows() == []


def test_deliver_exits_75_when_the_database_is_unreachable(env):
    unreachable = {**env, "MAILFLOW_DATABASE_URL": "postgresql://mailflow@127.0.0.1:1/mailflow"}
    assert mailflow(unreachable, "inbound", "deliver", stdin=message()).returncode == 75


def test_deliver_refuses_an_empty_input_with_65(env):
    assert mailflow(env, "inbound", "deliver", stdin=b"").returncode == 65


def test_process_and_retry_failed_report_what_became_of_each_message(env, rt):
    mailflow(env, "inbound", "deliver", "--sender", "x@example.org", stdin=message("x@example.org"))
    done = mailflow(env, "inbound", "process")
    assert done.returncode == 0 and done.stdout.decode().strip() == "1 staff"
    assert mailflow(env, "inbound", "process", "--retry-failed").stdout.decode().strip() == (
        "nothing waiting (0 failed messages retried)")
    again = mailflow(env, "inbound", "reprocess", str(rows()[0].id))
    assert again.returncode == 0 and ": staff (message): not understood" in again.stdout.decode()
    assert mailflow(env, "inbound", "reprocess", "999").returncode == 66


def test_inspect_prints_what_a_reply_means_and_changes_nothing(env, smtp_rt, relay, tmp_path):
    factories.customer(smtp_rt)
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    notice = relay.to(MARIE)[0].message
    body = ("Duplicata f2026 0042 svp\n\nMarie\n\nLe lun. 2 nov. 2026 à 10:00, Lease Services "
            "<documents@mailflow.example> a écrit :\n> Un nouveau document est disponible\n")
    eml = tmp_path / "reply.eml"
    eml.write_bytes(message(MARIE, notice["Reply-To"], "Re: " + notice["Subject"], body))
    before = (Outbox.select().count(), Preference.select().count())
    done = mailflow(env, "inbound", "inspect", str(eml))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["kind"] == "command" and seen["from"] == MARIE
    assert seen["reply_text"] == "Duplicata f2026 0042 svp\n\nMarie"
    assert seen["commands"] == [{"name": "duplicate", "args": ["F2026-0042"]}]
    assert seen["bounce"] is None
    assert seen["token"] == {"valid": True, "reason": None, "user": MARIE, "customer": "DL2123456",
                             "sender_matches": True}
    assert (Outbox.select().count(), Preference.select().count()) == before and rows() == []


def test_inspect_reads_a_bounce(env, tmp_path):
    eml = tmp_path / "dsn.eml"
    eml.write_bytes(postfix_dsn("bounces+abc@reply.mailflow.example", "gone@example.be", "<x@y>"))
    seen = json.loads(mailflow(env, "inbound", "inspect", str(eml)).stdout)
    assert seen["kind"] == "bounce" and seen["token"] is None
    assert seen["bounce"]["recipients"] == ["gone@example.be"]
    assert (seen["bounce"]["permanent"], seen["bounce"]["status"]) == (True, "5.1.1")
    assert InboundMessage.select().count() == 0
