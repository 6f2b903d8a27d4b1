"""The whole loop through a real MTA: a notice leaves through Debian's Postfix, Postfix cannot deliver it and
sends its DSN to the VERP address, Postfix (the reply domain's MX, configured as docs/deployment.md says)
hands that to mailflow's SMTP door, and the delivery is marked bounced."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mailflow.accounts import Person
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage, Outbox, Suppression
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.inbound import REPLY_DOMAIN
from tests.support.postfix import LOCAL_DOMAIN, PostfixInstance, usable

pytestmark = pytest.mark.skipif(not usable(), reason="needs Debian's postfix (.ci/setup) and root to start it")
NOBODY = Person(f"nobody-here@{LOCAL_DOMAIN}", "Nobody", "Here", "fr")


@pytest.fixture(scope="session")
def mta() -> Iterator[PostfixInstance]:
    instance = PostfixInstance(REPLY_DOMAIN).start()
    yield instance
    instance.stop()


@pytest.fixture
def through_postfix(rt, mta):
    """mailflow delivering to that Postfix, and its SMTP door on the port Postfix hands the reply domain to."""
    rt.config.outbound.transport, rt.config.outbound.smtp_port = "smtp", mta.port
    rt.__dict__.pop("transport", None)
    door = InboundSmtpServer(rt, host="127.0.0.1", port=mta.door_port).start()
    yield rt
    door.stop()


def wait_for_inbound(mta: PostfixInstance, seconds: float = 30.0) -> InboundMessage:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = InboundMessage.select().first()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no DSN came back within {seconds} s:\n{mta.log_text()}")


def test_a_notice_bounced_by_postfix_comes_back_as_a_dsn_and_marks_its_delivery(through_postfix, mta):
    rt = through_postfix
    factories.customer(rt, "DL2123456", NOBODY)
    factories.document(rt)
    report = DeliveryWorker(rt).flush()
    assert report.sent == 1, (Outbox.get().last_response, mta.log_text())  # taken (250); local(8) then bounces it
    dsn = wait_for_inbound(mta)
    assert dsn.door == "smtp" and dsn.envelope_from in ("", "<>") and dsn.client_ip == "127.0.0.1"  # null sender
    assert dsn.envelope_to.startswith("bounces+") and dsn.envelope_to.endswith(f"@{REPLY_DOMAIN}")
    InboundWorker(rt).flush()
    notice = Outbox.get(Outbox.recipient == NOBODY.email)
    row = InboundMessage.get_by_id(dsn.id)
    assert (row.kind, row.status, row.outbox_id) == ("bounce", "processed", notice.id)
    assert notice.status == "bounced" and notice.bounced_at is not None and "5.1.1" in notice.last_response
    assert Suppression.get(Suppression.email == NOBODY.email).score == 1
    assert b"DKIM-Signature:" in bytes(row.raw)  # the DSN quotes our mail as it left: signed
