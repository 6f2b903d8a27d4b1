"""The import as its own process, as operators run it: Ctrl-C and a database that stays locked end with a
summary of what was committed, a rerun finishes the job, and another writer keeps writing meanwhile."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailflow.models import AuditLog, Document, Notification, Outbox
from mailflow.pdf import simple_pdf
from tests.support import factories
from tests.support.env import PG_URL
from tests.support.processes import ROOT, mailflow_env, start, wait_for

CUSTOMERS = ("DL2123456", "DL2654321")
# Another process writing to the same database in short transactions, as `serve` does; on SIGTERM it prints
# how many writes it made and the longest one took (waiting for the lock included).
WRITER = """
import json, signal, time
from datetime import datetime
from mailflow.config import load_config
from mailflow.db import transaction
from mailflow.models import AuditLog
from mailflow.runtime import open_runtime

open_runtime(load_config(), migrate=False)
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
writes, worst = 0, 0.0
while not stop:
    began = time.monotonic()
    transaction(lambda: AuditLog.create(at=datetime.now(), actor="writer", action="test.write", detail="{}"))
    worst, writes = max(worst, time.monotonic() - began), writes + 1
    time.sleep(0.005)
print(json.dumps({"writes": writes, "worst_seconds": round(worst, 3)}))
"""


@pytest.fixture
def people(rt) -> None:
    factories.customer(rt)
    factories.share(rt)
    factories.customer(rt, "DL2654321", company="Dupont Immo SA")


def big_csv(folder: Path, rows: int) -> tuple[Path, Path]:
    pdfs = folder / "pdfs-in"
    pdfs.mkdir()
    for n in range(10):
        (pdfs / f"f{n}.pdf").write_bytes(simple_pdf(f"F{n}"))
    csv_file = folder / "big.csv"
    with csv_file.open("w") as handle:
        handle.write("customer;number;type;date;amount;pdf\n")
        for n in range(rows):
            handle.write(f"{CUSTOMERS[n % 2]};F2026-{n:06d};invoice;2026-10-{n % 28 + 1:02d};{n},{n % 100:02d};"
                         f"f{n % 10}.pdf\n")
    return csv_file, pdfs


def import_args(csv_file: Path, pdfs: Path, notify: str) -> list[str]:
    return ["document", "import", str(csv_file), "--pdf-dir", str(pdfs), "--notify", notify]


def stopped(output: str, how: str) -> tuple[int, int]:
    """(line reached, documents imported) from the summary of an import that stopped early."""
    found = re.search(rf"{how} after line (\d+): imported (\d+) document\(s\), 0 row\(s\) refused", output)
    assert found, output
    return int(found.group(1)), int(found.group(2))


def finish(csv_file: Path, pdfs: Path, notify: str, env: dict[str, str], log: Path) -> str:
    rerun = start(import_args(csv_file, pdfs, notify), env, log)
    assert rerun.wait(600) == 0, log.read_text()
    return log.read_text()


def test_ctrl_c_ends_with_what_was_committed_and_the_same_command_finishes_the_job(rt, people, tmp_path):
    csv_file, pdfs = big_csv(tmp_path, 12_000)
    env = mailflow_env(rt.config)
    process = start(import_args(csv_file, pdfs, "coalesce"), env, tmp_path / "import.log")
    wait_for(lambda: Document.select().count() >= 500, 120, "500 documents imported", (process,))
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 130
    output = (tmp_path / "import.log").read_text()
    line, imported = stopped(output, "interrupted")
    assert imported == Document.select().count() == line - 1 < 12_000, "the summary is what the database holds"
    assert "Traceback" not in output and "Aborted" not in output
    assert Outbox.select().count() == 0 and Notification.select().where(Notification.status == "pending").exists()

    output = finish(csv_file, pdfs, "coalesce", env, tmp_path / "rerun.log")
    assert (f"imported {12_000 - imported} document(s), 0 row(s) refused, {imported} already imported, "
            "2 summary mail(s) queued") in output
    assert Document.select().count() == 12_000
    assert Outbox.select().count() == 2, "one summary per recipient for both runs together"
    assert not Notification.select().where(Notification.status == "pending").exists()


@pytest.mark.skipif(bool(PG_URL), reason="holds SQLite's write lock; PostgreSQL waits for locks without a timeout")
def test_a_database_that_stays_locked_ends_with_what_was_committed_and_exit_75(rt, people, tmp_path):
    csv_file, pdfs = big_csv(tmp_path, 12_000)
    env = mailflow_env(rt.config, database_busy_timeout_seconds=0.2)
    process = start(import_args(csv_file, pdfs, "none"), env, tmp_path / "import.log")
    wait_for(lambda: Document.select().count() >= 500, 120, "500 documents imported", (process,))
    locker = sqlite3.connect(rt.config.database.url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    locker.execute("BEGIN IMMEDIATE")  # held until the import gives up
    try:
        code = process.wait(120)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    output = (tmp_path / "import.log").read_text()
    assert code == 75, output
    line, imported = stopped(output, "stopped: the database failed")
    assert imported == Document.select().count() == line - 1
    assert "error: importing lines up to" in output and "Traceback" not in output
    output = finish(csv_file, pdfs, "none", env, tmp_path / "rerun.log")
    assert f"{imported} already imported" in output and Document.select().count() == 12_000


def test_an_import_beside_another_writer_completes_and_the_writer_keeps_writing(rt, people, tmp_path):
    csv_file, pdfs = big_csv(tmp_path, 3_000)
    env = mailflow_env(rt.config)
    with (tmp_path / "writer.log").open("wb") as log:
        writer = subprocess.Popen([sys.executable, "-c", WRITER], env=env, cwd=ROOT, stdout=log, stderr=log)
    writes = AuditLog.select().where(AuditLog.actor == "writer")
    try:
        wait_for(lambda: writes.count() >= 20, 60, "the writer writing", (writer,))
        before, began = writes.count(), time.monotonic()
        result = subprocess.run([sys.executable, "-m", "mailflow", *import_args(csv_file, pdfs, "each")], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=600)
        seconds, during = time.monotonic() - began, writes.count() - before
    finally:
        writer.send_signal(signal.SIGTERM)
        writer.wait(60)
    stats = json.loads((tmp_path / "writer.log").read_text().splitlines()[-1])
    print(f"\n3000 rows beside a writer: {3000 / seconds:.0f} rows/s; the writer made {during} writes meanwhile, "
          f"its slowest took {stats['worst_seconds']} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported 3000 document(s), 0 row(s) refused" in result.stdout
    assert Document.select().count() == 3000
    # The writer was served all along: it kept committing and none of its writes failed busy (that would
    # have ended it with a traceback). Its slowest write is printed, not asserted: timings depend on the machine.
    assert during >= 10 and "Traceback" not in (tmp_path / "writer.log").read_text()
