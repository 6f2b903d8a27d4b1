"""`mailflow serve --role inbound`: the SMTP door, the mailbox poller and the worker run together until stopped."""

from __future__ import annotations

import threading
import time

import pytest

from mailflow.inbound.roles import start_inbound
from mailflow.inbound.smtp_server import free_port
from mailflow.models import InboundMessage
from tests.support import factories
from tests.support.dovecot import dovecot_server  # noqa: F401 (a fixture)
from tests.support.inbound import message, send

pytestmark = pytest.mark.dovecot


class Door:
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port


def test_the_inbound_role_takes_mail_from_both_doors_and_processes_it(rt, dovecot_server):  # noqa: F811
    factories.customer(rt)
    cfg = rt.config.inbound
    cfg.poll_seconds, cfg.smtp.host, cfg.smtp.port = 0.05, "127.0.0.1", free_port("127.0.0.1")
    imap = cfg.imap
    imap.enabled, imap.host, imap.port, imap.ssl = True, dovecot_server.host, dovecot_server.port, False
    imap.username, imap.password = dovecot_server.user, dovecot_server.password
    stop = threading.Event()
    threads = start_inbound(rt, stop)
    try:
        assert send(Door(cfg.smtp.port), message(body="AIDE"), rcpt="reply@reply.mailflow.example").code == 250
        dovecot_server.append(message("client@example.org", body="Une question", message_id="<imap@c.example>"))
        deadline = time.monotonic() + 30
        while InboundMessage.select().where(InboundMessage.status.in_(("processed", "staff"))).count() < 2:
            assert time.monotonic() < deadline, "messages not processed in time"
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(t.is_alive() for t in threads)
    doors = {r.door: r.status for r in InboundMessage.select()}
    assert doors == {"smtp": "processed", "imap": "staff"}
