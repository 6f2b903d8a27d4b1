"""The resolver mailflow asks: answers, absent names included, are kept for their TTL, not asked per message."""

from __future__ import annotations

from mailflow.config import DnsConfig
from mailflow.resolver import Resolver
from tests.support.dns_stub import shared, zone  # noqa: F401 (a fixture)


def test_an_answer_and_an_absent_name_are_each_asked_once(zone) -> None:
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    resolver = Resolver(DnsConfig(nameservers=[shared().address], timeout_seconds=2.0))
    for _ in range(3):
        assert resolver.txt("_dmarc.example.be") == ["v=DMARC1; p=reject"]
        assert resolver.txt("_dmarc.nowhere.example") == []
    assert zone.asked[("_dmarc.example.be", "TXT")] == 1
    assert zone.asked[("_dmarc.nowhere.example", "TXT")] == 1
