"""Operations endpoints: health for load balancers, Prometheus metrics read from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailflow.accounts import Person, add_staff
from mailflow.inbound.imap_poller import ImapSettings
from mailflow.inbound.liveness import DbLiveness
from mailflow.inbound.processing import InboundWorker
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.cli import invoke
from tests.support.inbound import inbound_smtp, postfix_dsn, send, settle  # noqa: F401 (inbound_smtp: a fixture)
from tests.support.processes import mailflow_env
from tests.support.web import client, login

MAILBOX = "imap://support@imap.example:993/INBOX"
MARIE = factories.MARIE.email


def liveness(rt, **settings: object) -> DbLiveness:
    return DbLiveness(rt, MAILBOX, ImapSettings(host="imap.example", port=993, ssl=True, username="support",
                                                password="pw", **settings))


def healthz(rt) -> dict:
    with client(rt) as web:
        response = web.get("/healthz")
    assert response.status_code == 200, response.text
    return response.json()


def metrics(rt) -> str:
    with client(rt) as web:
        response = web.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_healthz_reports_database_backlog_and_the_pollers_signs_of_life(rt, clock):
    factories.customer(rt)
    factories.document(rt)
    liveness(rt).alive("polled")
    clock.advance(minutes=10)
    body = healthz(rt)
    assert body["database"] == "ok" and body["outbox_backlog"] == 1 and body["oldest_due_seconds"] == 600.0
    assert body["outbox_overdue_seconds"] == 600.0 and body["outbox_leased"] == body["outbox_expired_leases"] == 0
    assert body["last_imap_poll"].startswith("2026-11-02T09:00") and body["imap_last_alive_seconds"] == 600.0
    assert body["imap_enabled"] is True and body["imap_pollers"] == 1  # within twice its longest silence (330 s)
    clock.advance(minutes=2)
    body = healthz(rt)
    assert (body["imap_enabled"], body["imap_pollers"], body["imap_last_alive_seconds"]) == (False, 0, 720.0)


def test_a_poller_in_trouble_is_enabled_and_names_its_error_and_one_stopped_is_not(rt, clock):
    found = liveness(rt)
    found.alive("connected")
    clock.advance(minutes=9)
    found.failed("ConnectionRefusedError: [Errno 111] Connection refused")
    body = healthz(rt)
    assert body["imap_enabled"] is True and body["imap_last_alive_seconds"] == 540.0
    assert body["imap_last_error"].startswith("ConnectionRefusedError") and body["imap_last_error_at"]
    found.stopped()
    assert healthz(rt)["imap_enabled"] is False
    assert "mailflow_imap_last_alive_seconds 540.0" in metrics(rt)  # still growing: nothing watches the mailbox


def test_metrics_count_mail_by_status_and_are_prometheus_text(rt):
    factories.customer(rt)
    factories.share(rt)
    factories.document(rt)
    DeliveryWorker(rt).flush()
    text = metrics(rt)
    assert 'mailflow_outbox_messages{status="sent"} 2.0' in text
    assert 'mailflow_outbox_messages{status="bounced"} 0.0' in text
    assert "mailflow_outbox_backlog 0.0" in text and "mailflow_outbox_overdue_seconds 0.0" in text
    assert 'mailflow_commands{name="duplicate"} 0.0' in text
    assert "mailflow_imap_last_alive_seconds -1.0" in text and "mailflow_last_imap_poll_age_seconds -1.0" in text
    assert "mailflow_imap_pollers 0.0" in text


def test_rows_under_an_expired_lease_are_backlog_and_live_leases_are_counted_apart(rt, clock):
    factories.customer(rt)
    factories.share(rt)
    factories.document(rt)
    outbox.claim("gone-worker", 10, clock.now(), timedelta(seconds=30))
    body = healthz(rt)
    assert (body["outbox_backlog"], body["outbox_leased"], body["outbox_expired_leases"]) == (0, 2, 0)
    clock.advance(seconds=90)
    body = healthz(rt)
    assert (body["outbox_backlog"], body["outbox_leased"], body["outbox_expired_leases"]) == (2, 0, 2)
    assert body["outbox_overdue_seconds"] == 60.0 and body["oldest_due_seconds"] == 90.0
    text = metrics(rt)
    assert "mailflow_outbox_backlog 2.0" in text and "mailflow_outbox_expired_leases 2.0" in text
    assert "mailflow_outbox_leased 0.0" in text and "mailflow_outbox_overdue_seconds 60.0" in text


def test_healthz_says_503_when_the_database_is_gone(rt):
    with client(rt) as web:
        rt.db.execute_sql('ALTER TABLE "outbox" RENAME TO "outbox_away"')
        try:
            response = web.get("/healthz")
        finally:
            rt.db.execute_sql('ALTER TABLE "outbox_away" RENAME TO "outbox"')
    assert response.status_code == 503 and response.json()["database"].startswith("error")


# -- a DSN that came back -----------------------------------------------------------------------------------


@pytest.fixture
def notice(smtp_rt, relay):
    """Marie's notice for F2026-0042 as the relay got it (envelope sender = VERP)."""
    factories.customer(smtp_rt)
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    return relay.to(MARIE)[0]


def dsn(rt, server, notice, status: str, n: int = 1) -> None:
    raw = postfix_dsn(notice.mail_from, MARIE, notice.message["Message-ID"], status=status, dsn_id=f"dsn{n}")
    assert send(server, raw, "", notice.mail_from).code == 250
    settle(rt)


def test_a_dsn_makes_the_delivery_bounced_everywhere_and_a_delayed_one_does_not(smtp_rt, relay, inbound_smtp,
                                                                               notice):
    dsn(smtp_rt, inbound_smtp, notice, "4.2.2", 1)
    assert Outbox.get(Outbox.recipient == MARIE).status == "sent"
    dsn(smtp_rt, inbound_smtp, notice, "5.1.1", 2)
    row = Outbox.get(Outbox.recipient == MARIE)
    assert row.status == "bounced" and row.bounced_at and row.last_response.startswith("bounced (DSN): 5.1.1")
    assert healthz(smtp_rt)["outbox_bounced"] == 1
    text = metrics(smtp_rt)
    assert 'mailflow_outbox_messages{status="bounced"} 1.0' in text
    assert 'mailflow_outbox_messages{status="sent"} 0.0' in text
    listed = invoke(smtp_rt, ["outbox", "list", "--status", "bounced"], mailflow_env(smtp_rt.config)).output
    assert f"{row.id}\tbounced\tnotice\t{MARIE}" in listed
    for language, word in (("en", "bounced"), ("fr", "non remis"), ("nl", "onbestelbaar"), ("de", "unzustellbar")):
        staff = add_staff(smtp_rt, Person(f"staff-{language}@support.example", "Sam", "Support", language))
        page = login(client(smtp_rt), smtp_rt, staff).get("/staff/outbound?status=bounced").text
        assert f'<span class="status status-bounced">{word}</span>' in page, language


def test_a_dsn_that_overtakes_its_worker_s_record_still_ends_bounced(smtp_rt, relay, inbound_smtp, notice):
    row = Outbox.get(Outbox.recipient == MARIE)
    Outbox.update(status="queued").where(Outbox.id == row.id).execute()  # a retry in flight when the DSN lands
    [claimed] = outbox.claim("worker-1", 1, smtp_rt.now(), timedelta(seconds=30))
    raw = postfix_dsn(notice.mail_from, MARIE, notice.message["Message-ID"], dsn_id="dsn-early")
    assert send(inbound_smtp, raw, "", notice.mail_from).code == 250
    InboundWorker(smtp_rt).flush()
    assert Outbox.get_by_id(row.id).status == "sending"
    assert outbox.record([outbox.Outcome(claimed, "sent", "250 2.0.0 Ok", smtp_rt.now())]) == [("sent", True)]
    assert Outbox.get_by_id(row.id).status == "bounced"
