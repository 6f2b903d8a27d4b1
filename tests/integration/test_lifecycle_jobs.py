"""Lifecycle jobs: seven years of documents and their PDFs, raw mail purged but its trail kept, spent
tokens, sessions, codes, stale bounce scores and rate counters cleared; a failing step stops nothing."""

from __future__ import annotations

import logging
from datetime import timedelta


from mailflow import audit, documents, ratelimit, storage, tokens
from mailflow.clock import naive_utc
from mailflow.models import (
    ActivationCode, AuditLog, Document, InboundMessage, Notification, RateCounter, Session, Suppression, Token, User,
    View,
)
from mailflow.pdf import simple_pdf
from mailflow.scheduler import retention
from tests.support.cli import invoke as invoke_cli
from tests.support import factories
from tests.support.scheduler import cli_env

DAY = timedelta(days=1)


def pdf_exists(rt, doc: Document) -> bool:
    return storage.pdf_path(rt.config, doc.pdf_sha256).exists()


def publish_same_pdf(rt, number: str, day: str) -> Document:
    pdf = simple_pdf("one scan for two numbers")
    return documents.publish(rt, documents.DocumentInput("DL2123456", number, "invoice", day, "10.00", pdf))


def test_seven_years_and_a_day_is_gone_with_its_pdf_seven_years_less_a_day_is_kept(rt):
    factories.customer(rt)  # today is 2 November 2026, local time
    old = factories.document(rt, number="F-OLD", day="2019-11-01")
    edge = factories.document(rt, number="F-EDGE", day="2019-11-02")
    kept = factories.document(rt, number="F-KEPT", day="2019-11-03")
    View.create(user=User.get(), document=old, viewed_at=naive_utc(rt.now()))
    assert retention.purge_documents(rt) == 1
    assert [d.number for d in Document.select().order_by(Document.number)] == ["F-EDGE", "F-KEPT"]
    assert not pdf_exists(rt, old) and pdf_exists(rt, edge) and pdf_exists(rt, kept)
    assert not View.select().exists() and Notification.select().where(Notification.document == old.id).count() == 0
    trail = AuditLog.get(AuditLog.action == "retention.documents")
    assert "F-OLD" in trail.detail and "2019-11-02" in trail.detail


def test_a_pdf_still_used_by_a_kept_document_stays(rt):
    factories.customer(rt)
    old = publish_same_pdf(rt, "F-OLD", "2018-05-01")
    recent = publish_same_pdf(rt, "F-NEW", "2026-05-01")
    assert old.pdf_sha256 == recent.pdf_sha256
    assert retention.purge_documents(rt) == 1
    assert pdf_exists(rt, recent) and storage.read_pdf(rt.config, recent.pdf_sha256).startswith(b"%PDF-")


def test_purge_goes_in_batches_until_done(rt, monkeypatch):
    factories.customer(rt)
    for i in range(5):
        factories.document(rt, number=f"F-{i}", day="2015-01-0{}".format(i + 1))
    monkeypatch.setattr(retention, "BATCH", 2)
    assert retention.purge_documents(rt) == 5 and not Document.select().exists()
    assert AuditLog.select().where(AuditLog.action == "retention.documents").count() == 3


def inbound(rt, days_ago: int, status: str = "processed", key: str = "k") -> InboundMessage:
    return InboundMessage.create(
        door="smtp", dedup_key=key, message_id=f"<{key}@example.be>", envelope_from="marie.dupont@example.be",
        raw=b"Subject: DUPLICATA F2026-0042\r\n\r\nDUPLICATA F2026-0042\r\n", size=48,
        received_at=naive_utc(rt.now() - timedelta(days=days_ago)), status=status, kind="command",
        from_addr="marie.dupont@example.be", subject="DUPLICATA F2026-0042", reply_text="DUPLICATA F2026-0042",
        commands='[{"name": "duplicate", "argument": "F2026-0042"}]', action="duplicate sent")


def test_raw_mail_purge_keeps_the_row_what_it_said_and_did_and_the_audit_rows(rt):
    old = inbound(rt, 91, key="old")
    recent = inbound(rt, 89, key="recent")
    unread = inbound(rt, 200, status="received", key="unread")
    audit.record(rt, "marie.dupont@example.be", "duplicate.request", "F2026-0042", via="mail")
    assert retention.purge_raw_mail(rt) == 1
    old = InboundMessage.get_by_id(old.id)
    assert old.raw is None and old.raw_purged_at == naive_utc(rt.now())
    assert (old.subject, old.reply_text, old.action, old.from_addr) == (
        "DUPLICATA F2026-0042", "DUPLICATA F2026-0042", "duplicate sent", "marie.dupont@example.be")
    assert InboundMessage.get_by_id(recent.id).raw is not None
    assert InboundMessage.get_by_id(unread.id).raw is not None  # never understood: kept
    assert AuditLog.select().where(AuditLog.action == "duplicate.request").count() == 1
    assert AuditLog.select().where(AuditLog.action == "retention.raw_mail").count() == 1
    assert retention.purge_raw_mail(rt) == 0


def test_spent_tokens_and_sessions_are_deleted_live_ones_kept(rt, clock):
    marie = factories.customer(rt).primary_user
    spent = tokens.issue(marie, "login", clock.now(), timedelta(minutes=30))
    tokens.consume(spent, clock.now())
    lapsed = tokens.issue(marie, "invitation", clock.now(), timedelta(days=14))
    session = Session.create(user=marie, session_hash="s" * 64, csrf_token="c", created_at=naive_utc(clock.now()),
                             last_seen_at=naive_utc(clock.now()), expires_at=naive_utc(clock.now() + 12 * DAY / 24))
    clock.advance(days=31)
    live = tokens.issue(marie, "login", clock.now(), timedelta(minutes=30))
    assert retention.expire_tokens(rt) == 1  # used 31 days ago; the lapsed one expired only 17 days ago
    clock.advance(days=14)
    assert retention.expire_tokens(rt) == 1  # lapsed 31 days ago; `live` lapsed 14 days ago: kept a while
    assert [t.token_hash for t in Token.select()] == [tokens.digest(live)] and lapsed
    assert retention.expire_sessions(rt) == 1
    assert Session.get_or_none(Session.id == session.id) is None


def code(rt, customer, issued_days_ago: int, expires_in_days: int, used: bool = False, key: str = "a"):
    now = rt.now()
    return ActivationCode.create(customer=customer, code_hash=key * 64,
                                 issued_at=naive_utc(now - timedelta(days=issued_days_ago)),
                                 expires_at=naive_utc(now + timedelta(days=expires_in_days)),
                                 used_at=naive_utc(now) if used else None)


def test_activation_codes_past_fifteen_weeks_are_refused_and_long_dead_ones_deleted(rt):
    customer = factories.customer(rt)
    overdue = code(rt, customer, 15 * 7 + 1, 30, key="a")  # issued too long ago, wrongly still valid
    fresh = code(rt, customer, 7, 15 * 7 - 7, key="b")
    used = code(rt, customer, 400, -295, used=True, key="c")
    dead = code(rt, customer, 500, -395, key="d")
    assert retention.expire_activation_codes(rt) == 2
    assert ActivationCode.get_by_id(overdue.id).expires_at <= naive_utc(rt.now())
    assert ActivationCode.get_by_id(fresh.id).expires_at == fresh.expires_at
    assert ActivationCode.get_or_none(ActivationCode.id == used.id) is not None  # who opted in stays known
    assert ActivationCode.get_or_none(ActivationCode.id == dead.id) is None


def test_stale_bounce_scores_reset_unless_suppressed(rt):
    now = rt.now()
    stale = Suppression.create(email="a@example.be", score=2.0, last_bounce_at=naive_utc(now - 15 * DAY))
    recent = Suppression.create(email="b@example.be", score=2.0, last_bounce_at=naive_utc(now - 3 * DAY))
    blocked = Suppression.create(email="c@example.be", score=3.0, last_bounce_at=naive_utc(now - 30 * DAY),
                                 suppressed_at=naive_utc(now - 30 * DAY))
    lifted = Suppression.create(email="d@example.be", score=3.0, last_bounce_at=naive_utc(now - 30 * DAY),
                                suppressed_at=naive_utc(now - 30 * DAY), lifted_at=naive_utc(now - 20 * DAY))
    assert retention.reset_stale_bounce_scores(rt) == 2
    scores = {s.email: s.score for s in Suppression.select()}
    assert scores == {stale.email: 0.0, recent.email: 2.0, blocked.email: 3.0, lifted.email: 0.0}


def test_old_rate_counters_are_purged(rt, clock):
    ratelimit.hit("login:1", 5, timedelta(hours=1), clock.now())
    clock.advance(days=3)
    ratelimit.hit("login:1", 5, timedelta(hours=1), clock.now())
    assert retention.purge_rate_counters(rt) == 1 and RateCounter.select().count() == 1


def test_a_failing_step_is_logged_and_the_others_still_run(rt, caplog, monkeypatch):
    factories.customer(rt)
    factories.document(rt, number="F-OLD", day="2010-01-01")

    def broken(_rt):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(retention.STEPS, "purge_raw_mail", broken)
    with caplog.at_level(logging.INFO, logger="mailflow.scheduler.retention"):
        results = retention.run_all(rt)
    assert results["purge_raw_mail"] is None and results["purge_documents"] == 1
    assert set(results) == set(retention.STEPS) and results["purge_rate_counters"] == 0
    assert "lifecycle step purge_raw_mail failed" in caplog.text and "disk on fire" in caplog.text


def test_lifecycle_run_command_prints_each_step(rt, tmp_path, database_url):
    result = invoke_cli(rt, ["lifecycle", "run"], env=cli_env(tmp_path, database_url),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "purge_documents: 0" in result.output and "reset_stale_bounce_scores: 0" in result.output
