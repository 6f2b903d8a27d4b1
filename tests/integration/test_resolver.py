"""The resolver mailflow asks: answers, absent names included, are kept for their TTL, not asked per message."""

from __future__ import annotations

import uuid

from mailflow.config import DnsConfig
from mailflow.resolver import Resolver
from tests.support.dns_stub import shared, zone  # noqa: F401 (a fixture)


def test_an_answer_and_an_absent_name_are_each_asked_once(zone) -> None:
    # names of this test's own: servers other tests left running ask the session's stub about example.be
    present, absent = (f"_dmarc.{uuid.uuid4().hex}.{kind}.example" for kind in ("present", "absent"))
    zone.add(present, "TXT", "v=DMARC1; p=reject")
    resolver = Resolver(DnsConfig(nameservers=[shared().address], timeout_seconds=2.0))
    for _ in range(3):
        assert resolver.txt(present) == ["v=DMARC1; p=reject"]
        assert resolver.txt(absent) == []
    assert zone.asked[(present, "TXT")] == 1
    assert zone.asked[(absent, "TXT")] == 1
