"""Masking and the JSON log format: passwords and tokens never written, one object a line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from types import SimpleNamespace

from mailflow.events import delivered, sender_text
from mailflow.log_format import JsonFormatter, TextFormatter
from mailflow.masking import masked, remember


def test_a_url_s_password_is_masked_wherever_it_is_in_a_line():
    line = "database postgresql://postgres:S3cret%40PW@db.example:5432/mailflow unreachable; http://host:8080/x"
    assert masked(line) == "database postgresql://postgres:***@db.example:5432/mailflow unreachable; http://host:8080/x"
    assert masked("postgresql://postgres@db/mailflow") == "postgresql://postgres@db/mailflow"


def test_remembered_secrets_and_reply_address_tokens_are_masked():
    remember("imap-Pa55word", "ab")  # too short to hide by its text: 'ab' is in many words
    said = masked("login imap-Pa55word failed for reply+AbC.dEf-123@reply.example and bounces+x_Y@r.example")
    assert said == "login *** failed for reply+***@reply.example and bounces+***@r.example"
    assert masked("a table") == "a table"
    assert masked("GET /auth/Zx9_ab-CD.12345 and https://p.example/address/undo/Qq8_zz-1234567") == \
        "GET /auth/*** and https://p.example/address/undo/***"
    assert masked("/staff/inbound/12345678/raw") == "/staff/inbound/12345678/raw"


def test_a_null_sender_shows_as_angle_brackets_once():
    assert [sender_text(s) for s in ("<>", "", None, "a@b.example", "<a@b.example>")] == \
        ["<>", "<>", "<>", "<a@b.example>", "<a@b.example>"]


def record(**extra: object) -> logging.LogRecord:
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        info = sys.exc_info()
    made = logging.LogRecord("mailflow.x", logging.ERROR, __file__, 1, "outbox %s: %s", (7, "relay://u:pw@h"), info)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_the_event_and_its_ids_and_stay_one_line():
    line = JsonFormatter().format(record(event="deferred", outbox_id=7, next_attempt="2026-11-02T09:01:00"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["event"] == "deferred" and entry["outbox_id"] == 7 and entry["level"] == "error"
    assert entry["logger"] == "mailflow.x" and entry["message"] == "outbox 7: relay://u:***@h"
    assert entry["time"].endswith("Z") and "line two" in entry["exception"]
    assert json.loads(JsonFormatter().format(record()))["event"] == "log"  # a line that names no event


def test_text_lines_are_masked_too():
    assert "relay://u:***@h" in TextFormatter().format(record())


def test_deferred_and_suppressed_mails_are_logged_with_their_outbox_ids(caplog):
    row = SimpleNamespace(id=41, kind="notice")
    later = datetime(2026, 11, 2, 9, 5, tzinfo=timezone.utc)
    outcomes = [SimpleNamespace(row=row, status="deferred", response="451 4.3.0 try later", when=later),
                SimpleNamespace(row=SimpleNamespace(id=42, kind="digest"), status="suppressed", response="", when=None),
                SimpleNamespace(row=SimpleNamespace(id=43, kind="notice"), status="sent", response="250", when=later)]
    with caplog.at_level(logging.INFO):
        delivered(outcomes, [("deferred", True), ("suppressed", True), ("sent", False)])  # 43: lease lost
    deferred, suppressed = caplog.records
    assert (deferred.event, deferred.outbox_id, deferred.reason) == ("deferred", 41, "451 4.3.0 try later")
    assert deferred.next_attempt == "2026-11-02T09:05:00+00:00"
    assert (suppressed.event, suppressed.outbox_id, suppressed.kind) == ("suppressed", 42, "digest")
