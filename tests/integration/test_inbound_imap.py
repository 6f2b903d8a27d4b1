"""The support-mailbox door against a real Dovecot: stored, processed, moved; nothing lost or doubled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from mailflow.inbound.imap_poller import ImapPoller
from mailflow.inbound.mailbox import DbPollerState, make_poller, run_poller, settings
from mailflow.inbound.processing import InboundWorker
from mailflow.models import ImapState, InboundMessage
from mailflow.runtime import Runtime
from tests.support import factories
from tests.support.dovecot import DovecotServer, dovecot_server  # noqa: F401 (a fixture)
from tests.support.inbound import message, rows

pytestmark = pytest.mark.dovecot

WAIT_SECONDS = 30.0
MARIE = factories.MARIE.email


def configure(rt: Runtime, server: DovecotServer) -> None:
    imap = rt.config.inbound.imap
    imap.enabled, imap.host, imap.port, imap.ssl = True, server.host, server.port, False
    imap.username, imap.password = server.user, server.password


@pytest.fixture
def poller(rt: Runtime, dovecot_server: DovecotServer) -> Iterator[ImapPoller]:  # noqa: F811
    configure(rt, dovecot_server)
    made = make_poller(rt, replace(settings(rt), timeout=10, backoff_initial=0.05, backoff_max=0.4))
    yield made
    made.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def support_mail(n: int, sender: str = "client@example.org", body: str = "Où est ma facture ?") -> bytes:
    return message(sender, "support@mailflow.example", f"Question {n}", body, message_id=f"<q{n}@client.example>")


def test_appended_messages_are_stored_processed_and_moved(rt, dovecot_server, poller):  # noqa: F811
    factories.customer(rt)
    raws = [support_mail(1), support_mail(2, MARIE, "AIDE")]
    for raw in raws:
        dovecot_server.append(raw)
    assert poller.poll_once() == 2
    assert [(r.door, bytes(r.raw)) for r in rows()] == [("imap", raw) for raw in raws]
    assert dovecot_server.uids("INBOX") == [] and len(dovecot_server.fetch_all("Processed")) == 2
    assert InboundWorker(rt).flush() == {"staff": 1, "processed": 1}
    state = ImapState.get()
    assert state.uidvalidity == dovecot_server.uidvalidity() and state.last_uid == 2
    assert poller.poll_once() == 0 and len(rows()) == 2


def test_the_position_survives_a_new_poller(rt, dovecot_server, poller):  # noqa: F811
    dovecot_server.append(support_mail(1))
    poller.poll_once()
    poller.close()
    dovecot_server.append(support_mail(2))
    again = make_poller(rt, replace(settings(rt), timeout=10))
    try:
        assert again.poll_once() == 1
    finally:
        again.close()
    assert DbPollerState(rt).load(again.state_key)[1] == 2 and len(rows()) == 2


def test_a_server_restart_mid_session_loses_and_doubles_nothing(rt, dovecot_server, poller):  # noqa: F811
    stop = threading.Event()
    worker = threading.Thread(target=run_poller, args=(poller, rt, stop), daemon=True)
    worker.start()
    try:
        dovecot_server.append(support_mail(1))
        wait_until(lambda: InboundMessage.select().count() == 1, "first message stored")
        dovecot_server.restart()
        dovecot_server.append(support_mail(2))
        wait_until(lambda: InboundMessage.select().count() == 2, "second message stored after the restart")
        wait_until(lambda: dovecot_server.uids("INBOX") == [], "INBOX emptied")
    finally:
        stop.set()
        worker.join(WAIT_SECONDS)
    assert not worker.is_alive()
    assert sorted(r.message_id for r in rows()) == ["<q1@client.example>", "<q2@client.example>"]
    assert len(dovecot_server.fetch_all("Processed")) == 2
    assert InboundWorker(rt).flush() == {"staff": 2}


def test_a_new_uidvalidity_rescans_without_reprocessing(rt, dovecot_server, poller):  # noqa: F811
    factories.customer(rt)
    first = support_mail(1, MARIE, "AIDE")
    dovecot_server.append(first)
    poller.poll_once()
    InboundWorker(rt).flush()
    done = InboundMessage.get()
    old_validity = ImapState.get().uidvalidity
    dovecot_server.append(first)  # someone dragged it back into INBOX, then the mailbox was restored
    dovecot_server.append(support_mail(2))
    assert dovecot_server.reset_uidvalidity() != old_validity
    poller.close()  # the restore dropped the connection; the next poll reconnects
    assert poller.poll_once() == 2  # both handed to the store again ...
    assert len(rows()) == 2  # ... which kept the one it already had
    assert InboundWorker(rt).flush() == {"staff": 1}  # only the new one is processed
    again = InboundMessage.get_by_id(done.id)
    assert (again.status, again.processed_at, again.outbox_id) == ("processed", done.processed_at, done.outbox_id)
    assert ImapState.get().uidvalidity == dovecot_server.uidvalidity() != old_validity
    assert dovecot_server.uids("INBOX") == []
