"""Start-up names its configuration and database, no line ever shows a password or a token, a `--role`
process never makes a database, and `[logging] format = "json"` gives one object a line per event."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import psycopg2
import pytest

from mailflow.inbound.mailbox import make_poller
from mailflow.inbound.smtp_server import free_port
from mailflow.models import InboundMessage, Outbox
from mailflow.outbound import outbox
from tests.support import factories
from tests.support.dovecot import dovecot_server  # noqa: F401 (a fixture)
from tests.support.env import PG_URL, PostgresDatabase
from tests.support.inbound import message, outlook_reply_fr, postfix_dsn, send
from tests.support.processes import ROOT, mailflow_env, start, stop, wait_for

PASSWORD = "S3cretPW"  # one known password, in the database URL, the SMTP relay's and the IMAP mailbox's
MARIE = factories.MARIE.email


def mailflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailflow", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)


def with_password(url: str) -> str:
    """The URL with PASSWORD in it: PostgreSQL's trust authentication ignores it, SQLite has no place for one."""
    if not url.startswith("postgresql"):
        return url
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port or 5432}").geturl()


def secret_env(config, relay) -> dict[str, str]:
    return mailflow_env(config, database_url=with_password(config.database.url), outbound_transport="smtp",
                        outbound_smtp_port=relay.port, outbound_smtp_username="mailflow",
                        outbound_smtp_password=f"smtp-{PASSWORD}", inbound_imap_enabled="true",
                        inbound_imap_host="127.0.0.1", inbound_imap_port=free_port("127.0.0.1"),
                        inbound_imap_ssl="false", inbound_imap_username="support",
                        inbound_imap_password=f"imap-{PASSWORD}", inbound_smtp_port=free_port("127.0.0.1"),
                        web_port=free_port("127.0.0.1"), outbound_poll_seconds=0.2)


def serve_once(env: dict[str, str], log: Path, args: list[str], *until: str) -> str:
    """Run `serve` until it says it serves and has logged each of `until`, stop it; all it said."""
    process = start(args, env, log)
    try:
        wait_for(lambda: "serving roles" in log.read_text(), 60, "serve to start", (process,))
        wait_for(lambda: all(word in log.read_text() for word in until), 30, f"{until} logged", (process,))
    finally:
        stop(process)
    return log.read_text()


def test_no_line_of_init_serve_or_a_failing_command_shows_a_password(rt, relay, tmp_path):
    env = secret_env(rt.config, relay)
    with rt.db.atomic():  # one mail, so the worker logs in at the relay (which offers no AUTH: refused)
        mail = outbox.enqueue(outbox.Mail("<secret@test>", b"Subject: x\r\n\r\nx\r\n", MARIE, "x", "notice"), rt.now())
    init = mailflow(env, "init")
    assert init.returncode == 0, init.stderr
    said = [init.stdout + init.stderr]
    said.append(serve_once(env, tmp_path / "all.log", ["-v", "serve"], f"outbox {mail.id} ", "IMAP session"))
    said.append(serve_once(env, tmp_path / "worker.log", ["serve", "--role", "worker", "--role", "inbound"],
                          "IMAP session"))
    down = mailflow({**env, "MAILFLOW_DATABASE_URL": f"postgresql://mailflow:{PASSWORD}@127.0.0.1:1/mailflow"},
                    "-v", "customer", "list")
    assert down.returncode == 75 and "postgresql://mailflow:***@127.0.0.1:1/mailflow" in down.stderr, down.stderr
    said.append(down.stdout + down.stderr)
    lines = [line for text in said for line in text.splitlines()]
    assert [line for line in lines if PASSWORD in line] == []
    started = [line for line in lines if "config " in line and "database " in line]
    assert any(str(ROOT / "config.toml") in line for line in started), "no start-up line names the config"
    if rt.config.database.url.startswith("postgresql"):
        assert ":***@" in init.stdout and all(":***@" in line for line in started)


def test_a_role_process_never_creates_the_database(config, tmp_path):
    if PG_URL:
        empty = PostgresDatabase(PG_URL).create()  # a database with nothing in it, as a new server has
        try:
            _refused(config, with_password(empty.url))
            assert _tables(empty.url) == 0
        finally:
            empty.drop()
        return
    fresh = tmp_path / "fresh" / "mailflow.sqlite3"
    for where in (fresh, tmp_path / "mailflow.sqlite3"):  # a folder that is not there either, and one that is
        _refused(config, f"sqlite:///{where}")
        assert not where.exists() and not fresh.parent.exists()


def _refused(config, url: str) -> None:
    env = mailflow_env(config, database_url=url, inbound_imap_enabled="false")
    for roles in (["--role", "worker"], ["--role", "web", "--role", "inbound", "--role", "scheduler"]):
        done = mailflow(env, "serve", *roles)
        assert done.returncode == 78, done.stderr
        error = done.stderr.splitlines()[-1]
        assert error.startswith("error: database ") and "mailflow init" in error, done.stderr
        assert url.replace(PASSWORD, "***") in error and PASSWORD not in done.stderr + done.stdout


def _tables(url: str) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            return cursor.fetchone()[0]
    finally:
        conn.close()


def test_a_schema_behind_stops_a_role_process_and_is_left_as_it_is(rt, tmp_path):
    latest = rt.db.execute_sql("SELECT max(version) FROM schema_version").fetchone()[0]
    rt.db.execute_sql(f"DELETE FROM schema_version WHERE version = {latest}")  # as before the last upgrade
    try:
        done = mailflow(mailflow_env(rt.config, inbound_imap_enabled="false"), "serve", "--role", "worker")
        assert done.returncode == 78 and "is behind its schema: 1 migration(s)" in done.stderr, done.stderr
        assert "mailflow init" in done.stderr
        assert rt.db.execute_sql("SELECT max(version) FROM schema_version").fetchone()[0] < latest
    finally:
        done = mailflow(mailflow_env(rt.config), "init")  # what the message says to do, and it works
        assert done.returncode == 0, done.stderr


def test_json_logs_of_a_notice_a_reply_and_a_bounce_one_object_a_line_with_their_ids(rt, relay, tmp_path):
    factories.customer(rt)
    factories.document(rt)  # Marie's notice, queued
    [notice_row] = Outbox.select().where(Outbox.recipient == MARIE)
    door = SimpleNamespace(host="127.0.0.1", port=free_port("127.0.0.1"))
    env = mailflow_env(rt.config, logging_format="json", outbound_transport="smtp", outbound_smtp_port=relay.port,
                       inbound_smtp_port=door.port, web_port=free_port("127.0.0.1"), inbound_imap_enabled="false")
    log = tmp_path / "serve.log"
    serve = start(["serve"], env, log)
    try:
        wait_for(lambda: len(relay.to(MARIE)) == 1, 60, "the notice at the relay", (serve,))
        notice = relay.to(MARIE)[0]
        reply = outlook_reply_fr(MARIE, notice.message["Reply-To"], "DUPLICATA F2026-0042", notice.message)
        assert send(door, reply, MARIE, notice.message["Reply-To"]).code == 250
        wait_for(lambda: len(relay.to(MARIE)) == 2, 60, "the duplicate at the relay", (serve,))
        dsn = postfix_dsn(notice.mail_from, MARIE, notice.message["Message-ID"])
        assert send(door, dsn, "", notice.mail_from).code == 250
        wait_for(lambda: '"event": "bounced"' in log.read_text(), 60, "the bounce logged", (serve,))
    finally:
        stop(serve)
    entries = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "event", "message"} <= set(e) for e in entries)
    by_event = _by_event(entries)
    reply_row, dsn_row = InboundMessage.select().order_by(InboundMessage.id)
    duplicate_row = Outbox.get(Outbox.kind == "duplicate")
    assert by_event["started"][0]["roles"] == ["web", "inbound", "scheduler", "worker"]
    assert by_event["started"][0]["pid"] == serve.pid == by_event["stopped"][0]["pid"]
    sent = {e["outbox_id"]: e for e in by_event["sent"]}
    assert sent[notice_row.id]["kind"] == "notice" and sent[notice_row.id]["answer"].startswith("250")
    assert sent[duplicate_row.id]["kind"] == "duplicate"
    stored = {e["inbound_id"]: e for e in by_event["stored"]}
    assert stored[reply_row.id]["door"] == "smtp" and stored[reply_row.id]["sender"] == f"<{MARIE}>"
    assert stored[dsn_row.id]["sender"] == "<>" and "<<>>" not in log.read_text()
    understood = {e["inbound_id"]: e for e in by_event["understood"]}
    assert understood[reply_row.id]["kind"] == "command" and understood[reply_row.id]["commands"] == ["duplicate"]
    assert understood[dsn_row.id]["kind"] == "bounce"
    acted = {e["inbound_id"]: e for e in by_event["acted"]}
    assert acted[reply_row.id]["command"] == "duplicate" and acted[reply_row.id]["result"] == "processed"
    assert by_event["bounced"][0]["outbox_id"] == notice_row.id
    _assert_no_token(log.read_text(), notice.message, notice.mail_from)


def _by_event(entries: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in entries:
        found.setdefault(entry["event"], []).append(entry)
    return found


def _assert_no_token(logged: str, notice, verp: str) -> None:
    """The reply address's token, the VERP token and the unsubscribe link's token are never logged."""
    reply_token = notice["Reply-To"].split("+", 1)[1].split("@")[0]
    verp_token = verp.split("+", 1)[1].split("@")[0]
    unsubscribe = notice["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
    for token in (reply_token, verp_token, unsubscribe):
        assert len(token) > 10 and token not in logged


@pytest.mark.dovecot
def test_the_imap_and_pipe_doors_log_what_they_stored(rt, dovecot_server, caplog):  # noqa: F811
    imap = rt.config.inbound.imap
    imap.enabled, imap.host, imap.port, imap.ssl = True, dovecot_server.host, dovecot_server.port, False
    imap.username, imap.password = dovecot_server.user, dovecot_server.password
    dovecot_server.append(message("client@example.org", "support@mailflow.example", "Question", "Où ?"))
    poller = make_poller(rt)
    try:
        with caplog.at_level("INFO", logger="mailflow.inbound"):
            assert poller.poll_once() == 1
    finally:
        poller.close()
    [imap_row] = InboundMessage.select()
    [said] = [r for r in caplog.records if getattr(r, "event", "") == "stored"]
    assert (said.inbound_id, said.door, said.sender) == (imap_row.id, "imap", "no envelope")
    env = mailflow_env(rt.config, logging_format="json")
    piped = subprocess.run([sys.executable, "-m", "mailflow", "inbound", "deliver", "--sender", ""], env=env,
                           cwd=ROOT, input=postfix_dsn("bounces@reply.mailflow.example", MARIE, "<x@test>"),
                           capture_output=True, timeout=60, check=False)
    assert piped.returncode == 0, piped.stderr
    entries = [json.loads(line) for line in piped.stderr.decode().splitlines()]
    [stored] = [e for e in entries if e["event"] == "stored"]
    pipe_row = InboundMessage.get(InboundMessage.door == "pipe")
    assert (stored["inbound_id"], stored["door"], stored["sender"]) == (pipe_row.id, "pipe", "<>")
