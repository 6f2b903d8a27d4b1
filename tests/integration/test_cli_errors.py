"""Every CLI command fails as the README says: one `error: …` line, its exit code, no traceback, no password."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import click
import psycopg2
import pytest
from peewee import IntegrityError, OperationalError

import mailflow.web.roles  # noqa: F401 - registers the real web role now, so a test's stand-in stays
from mailflow.cli import cli
from mailflow.errors import PortInUse
from mailflow.pdf import simple_pdf
from mailflow.scheduler import retention
from mailflow.serve import ROLES, RoleFailed, serve, thread
from mailflow.models import Outbox
from tests.support import factories
from tests.support.cli import invoke
from tests.support.inbound import message
from tests.support.processes import ROOT, mailflow_env, start, stop, wait_for

PASSWORD = "s3cret-pw"
UNKNOWN = "nobody@example.be"

# One case per command: arguments that get it as far as the database. A new command without a case fails
# test_every_command_has_a_case, so its failure modes are walked too.
ARGS: dict[str, list[str]] = {
    "account logout": [UNKNOWN],
    "account merge": [UNKNOWN, "other@example.be"],
    "activation-code export": ["--issuer", "XX9"],
    "activation-code issue": ["DL2999999"],
    "activation-code list": ["DL2999999"],
    "customer add": ["DL2123456", "--company", "ACME", "--email", "a@example.be"],
    "customer list": [],
    "demo": [],
    "digest run": ["--frequency", "daily"],
    "dkim rotate": ["mailflow.example"],
    "dkim status": [],
    "dns": ["--check"],
    "document add": ["DL2999999", "--number", "F1", "--type", "invoice", "--date", "2026-11-02", "--amount", "1",
                     "--pdf", "{tmp}/a.pdf"],
    "document import": ["{tmp}/docs.csv", "--pdf-dir", "{tmp}"],
    "document list": [],
    "inbound deliver": ["--sender", UNKNOWN],
    "inbound inspect": ["{tmp}/a.eml"],
    "inbound process": [],
    "inbound reprocess": ["99999"],
    "init": [],
    "lifecycle run": [],
    "login-link": [UNKNOWN],
    "outbox flush": [],
    "outbox list": [],
    "outbox retry": ["99999"],
    "paperless export": ["--issuer", "XX9"],
    "sample-pdf": ["{tmp}/sample.pdf"],
    "serve": ["--role", "worker"],
    "user add-staff": ["staff@example.be"],
    "user list": [],
    "user share": ["DL2999999", "jan@example.be"],
}

NOT_FOUND = ["account logout", "account merge", "activation-code export", "activation-code issue",
             "activation-code list", "document add", "inbound reprocess", "login-link", "outbox retry",
             "paperless export", "user share"]


def commands(group: click.Group, prefix: str = "") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        found |= commands(command, f"{path} ") if isinstance(command, click.Group) else {path}
    return found


def mailflow(env: dict[str, str], *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailflow", *args], input=stdin.decode(), env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def assert_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    shown = done.stdout + done.stderr
    assert done.returncode == code, shown
    assert done.stderr.startswith("error: ") or "\nerror: " in done.stderr, shown
    assert "Traceback" not in shown and PASSWORD not in shown, shown
    for word in words:
        assert word in done.stderr, shown


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """The files some commands read before they open the database."""
    (tmp_path / "a.pdf").write_bytes(simple_pdf("F1"))
    (tmp_path / "docs.csv").write_text("customer,number,type,date,amount,pdf\nDL2999999,F1,invoice,2026-11-02,1,a.pdf\n")
    (tmp_path / "a.eml").write_bytes(message())
    return tmp_path


def case(name: str, tmp: Path) -> list[str]:
    return [*name.split(), *(arg.replace("{tmp}", str(tmp)) for arg in ARGS[name])]


def test_every_command_has_a_case():
    assert commands(cli) == set(ARGS)


NO_DATABASE = {"sample-pdf"}  # writes a file and nothing else


@pytest.mark.parametrize("name", sorted(set(ARGS) - NO_DATABASE))
def test_an_unreachable_database_is_75_with_the_password_hidden(name, config, inputs):
    unreachable = [f"postgresql://mailflow:{PASSWORD}@127.0.0.1:1/mailflow",
                   f"sqlite:///{inputs / 'a.pdf' / 'below-a-file' / 'mailflow.sqlite3'}"]
    for url in unreachable:
        env = mailflow_env(config, database_url=url, inbound_imap_enabled="false")
        started = time.monotonic()
        done = mailflow(env, *case(name, inputs), stdin=message())
        assert_error(done, 75, "database unreachable")
        assert time.monotonic() - started < 30  # serve too gives up at once


@pytest.mark.parametrize("name", NOT_FOUND)
def test_what_does_not_exist_is_66(name, rt, inputs):
    done = mailflow(mailflow_env(rt.config), *case(name, inputs))
    assert_error(done, 66)


def test_login_link_names_the_unknown_address(rt):
    assert_error(mailflow(mailflow_env(rt.config), "login-link", UNKNOWN), 66, f"no user {UNKNOWN}")


def test_retrying_a_mail_that_is_not_failed_names_its_status_and_changes_nothing(rt):
    factories.customer(rt)
    factories.document(rt)
    notice = Outbox.get(Outbox.status == "queued")  # the notice, waiting for the worker
    done = mailflow(mailflow_env(rt.config), "outbox", "retry", str(notice.id))
    assert_error(done, 65, f"outbox row {notice.id} is queued")
    assert Outbox.get_by_id(notice.id).status == "queued"
    assert_error(mailflow(mailflow_env(rt.config), "outbox", "retry", "99999"), 66, "no outbox row 99999")


def test_a_misspelled_override_is_78_naming_it(config):
    done = mailflow(mailflow_env(config, outbound_batchsize=3), "outbox", "list")
    assert_error(done, 78, "MAILFLOW_OUTBOUND_BATCHSIZE")


@pytest.mark.parametrize(("text", "words"), [
    ("[outbound\ntransport = 'smtp'\n", ["not valid TOML"]),
    ("[outbound]\ntransport = 'pigeon'\n", ["[outbound] transport must be maildir or smtp"]),
    ("[outbound]\nbatchsize = 3\n", ["unknown key [outbound] batchsize"]),
    (None, ["configuration file not found"]),
])
def test_a_bad_configuration_file_is_78_naming_the_problem(config, tmp_path, text, words):
    path = tmp_path / "mailflow.toml"
    if text is not None:
        path.write_text(text)
    done = mailflow(mailflow_env(config), "--config", str(path), "customer", "list")
    assert_error(done, 78, *words)


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def serve_env(rt, web: int, smtp: int) -> dict[str, str]:
    return mailflow_env(rt.config, web_host="127.0.0.1", web_port=web, inbound_smtp_host="127.0.0.1",
                        inbound_smtp_port=smtp, inbound_imap_enabled="false")


def assert_refused(done: subprocess.CompletedProcess[str], section: str, port: int) -> None:
    assert_error(done, 75, section, f"port {port}", "already in use")
    assert "serving roles" not in done.stderr  # nothing said it had started


def test_serve_web_on_a_taken_port_is_75_naming_it(rt, held_port):
    done = mailflow(serve_env(rt, held_port, free_port()), "serve", "--role", "web")
    assert_refused(done, "[web]", held_port)


def test_serve_inbound_on_a_taken_port_is_75_naming_it(rt, held_port):
    done = mailflow(serve_env(rt, free_port(), held_port), "serve", "--role", "inbound")
    assert_refused(done, "[inbound.smtp]", held_port)


def test_a_role_that_cannot_start_stops_the_roles_started_before_it(rt, held_port):
    smtp = free_port()
    done = mailflow(serve_env(rt, held_port, smtp), "serve", "--role", "inbound", "--role", "web")
    assert_refused(done, "[web]", held_port)
    socket.create_server(("127.0.0.1", smtp)).close()  # the inbound door it had opened is closed again


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port or 5432}").geturl()


def test_init_and_serve_show_the_database_without_its_password(rt, tmp_path):
    if not rt.config.database.url.startswith("postgresql"):
        pytest.skip("needs MAILFLOW_TEST_DATABASE_URL (PostgreSQL) for a URL with a password")
    env = mailflow_env(rt.config, database_url=with_password(rt.config.database.url))  # trust auth ignores it
    done = mailflow(env, "init")
    assert done.returncode == 0 and ":***@" in done.stdout and PASSWORD not in done.stdout + done.stderr
    log = tmp_path / "serve.log"
    server = start(["serve", "--role", "worker"], env, log)
    try:
        wait_for(lambda: "serving roles" in log.read_text(), 60, "serve to start", (server,))
    finally:
        stop(server)
    assert server.returncode == 0 and ":***@" in log.read_text() and PASSWORD not in log.read_text()


# The CLI's edge, in this process: a database error raised deep inside a command.

@pytest.fixture
def env(database_url: str, tmp_path: Path, rt) -> dict[str, str]:
    return {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_SECURITY_SECRET_KEY": "test-secret-key",
            "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"), "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "m")}


@pytest.mark.parametrize(("error", "code", "words"), [
    (OperationalError("server closed the connection unexpectedly"), 75, "error: database unavailable ("),
    (OperationalError("database is locked"), 75, "error: database busy, try again later"),
    (IntegrityError("UNIQUE constraint failed: user.email"), 65, "error: conflicts with what is already stored"),
    (sqlite3.OperationalError("database is locked"), 75, "error: database busy"),  # from a raw cursor
    (psycopg2.OperationalError("server closed the connection unexpectedly"), 75, "error: database unavailable"),
])
def test_a_database_error_inside_a_command_is_an_error_line(rt, env, monkeypatch, error, code, words):
    def fail(email: str) -> None:
        raise error
    monkeypatch.setattr("mailflow.accounts.find_user", fail)
    result = invoke(rt, ["login-link", UNKNOWN], env)
    assert result.exit_code == code and words in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_failed_lifecycle_step_is_75_after_the_others_ran(rt, env, monkeypatch):
    def broken(rt) -> int:
        raise RuntimeError("disk full")
    monkeypatch.setitem(retention.STEPS, "broken", broken)
    result = invoke(rt, ["lifecycle", "run"], env)
    assert result.exit_code == 75, result.output
    assert "broken: FAILED" in result.output and "error: lifecycle step(s) broken failed" in result.output


@pytest.mark.parametrize("args", [["outbox", "retry", "one"], ["outbox", "list", "--status", "lost"], ["nonsense"]])
def test_usage_errors_stay_click_s_exit_2(config, args):
    done = mailflow(mailflow_env(config), *args)
    assert done.returncode == 2 and "Usage:" in done.stderr and "Traceback" not in done.stderr


# `serve` itself: roles that cannot start or that die later.

@pytest.fixture
def lasting(monkeypatch) -> threading.Event:
    """The web role replaced by a thread that runs until serve's stop; the event tells it was stopped."""
    stopped = threading.Event()
    monkeypatch.setitem(ROLES, "web", lambda rt, stop: [thread("lasting", lambda: (stop.wait(), stopped.set()))])
    return stopped


def test_a_role_thread_that_dies_stops_every_role_and_serve_fails(rt, lasting, monkeypatch):
    monkeypatch.setitem(ROLES, "worker", lambda rt, stop: [thread("crashing", lambda: (time.sleep(0.2), 1 / 0))])
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RoleFailed, match="crashing stopped unexpectedly: ZeroDivisionError") as failed:
        serve(rt, ["web", "worker"], threading.Event())
    assert failed.value.exit_code == 70 and lasting.is_set()
    assert signal.getsignal(signal.SIGTERM) is handler  # serve put the previous handler back


def test_a_role_that_cannot_start_stops_the_roles_already_started(rt, lasting, monkeypatch):
    def refuse(rt, stop):
        raise PortInUse("[worker] port 1 on 127.0.0.1 is already in use")
    monkeypatch.setitem(ROLES, "worker", refuse)
    with pytest.raises(PortInUse):
        serve(rt, ["web", "worker"], threading.Event())
    assert lasting.is_set()


def test_an_unexpected_start_failure_says_which_role(rt, lasting, monkeypatch):
    def broken(rt, stop):
        raise RuntimeError("no such thing")
    monkeypatch.setitem(ROLES, "worker", broken)
    with pytest.raises(RoleFailed, match=r"\[worker\] could not start: no such thing"):
        serve(rt, ["web", "worker"], threading.Event())
    assert lasting.is_set()
