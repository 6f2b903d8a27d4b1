"""Operations endpoints: health for load balancers, Prometheus metrics read from the database."""

from __future__ import annotations

from mailflow.clock import naive_utc
from mailflow.models import ImapState
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.web import client


def test_healthz_reports_database_backlog_and_last_imap_poll(rt, clock):
    factories.customer(rt)
    factories.document(rt)
    ImapState.create(mailbox="imap://support@example/INBOX", uidvalidity=1, last_uid=3,
                     last_poll_at=naive_utc(clock.now()))
    clock.advance(minutes=10)
    with client(rt) as web:
        response = web.get("/healthz")
    body = response.json()
    assert response.status_code == 200 and body["database"] == "ok"
    assert body["outbox_backlog"] == 1 and body["oldest_due_seconds"] == 600.0
    assert body["last_imap_poll"].startswith("2026-11-02T09:00")


def test_healthz_says_503_when_the_database_is_gone(rt):
    with client(rt) as web:
        rt.db.execute_sql('ALTER TABLE "outbox" RENAME TO "outbox_away"')
        try:
            response = web.get("/healthz")
        finally:
            rt.db.execute_sql('ALTER TABLE "outbox_away" RENAME TO "outbox"')
    assert response.status_code == 503 and response.json()["database"].startswith("error")


def test_metrics_count_mail_by_status_and_are_prometheus_text(rt):
    factories.customer(rt)
    factories.share(rt)
    factories.document(rt)
    DeliveryWorker(rt).flush()
    with client(rt) as web:
        response = web.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'mailflow_outbox_messages{status="sent"} 2.0' in text
    assert "mailflow_outbox_oldest_due_seconds 0.0" in text
    assert 'mailflow_commands{name="duplicate"} 0.0' in text
    assert "mailflow_last_imap_poll_age_seconds -1.0" in text
