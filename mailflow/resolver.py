"""The DNS resolver mailflow asks (`[dns] nameservers`, else the system's), with answers as plain text."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.resolver

from mailflow.config import DnsConfig


CACHED_NAMES = 10_000


class DnsTempError(Exception):
    """No answer could be had (timeout, SERVFAIL): unknown, not absent."""


@dataclass
class Resolver:
    config: DnsConfig

    def __post_init__(self) -> None:
        servers = self.config.nameservers
        self._resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            self._resolver.nameservers = [_nameserver(s) for s in servers]
        self._resolver.lifetime = self.config.timeout_seconds
        self._resolver.timeout = min(2.0, self.config.timeout_seconds)
        # the same few domains come back mail after mail (a sender's DMARC and SPF, our own DKIM): answers,
        # "no such name" included, are kept for their TTL instead of costing a round trip for every message
        self._resolver.cache = dns.resolver.LRUCache(CACHED_NAMES)

    def lookup(self, name: str, rdtype: str) -> list[str]:
        """Every record's text (TXT strings joined, as RFC 7208 3.3 and RFC 6376 3.6.2.2 read them); [] when the
        name or the type does not exist; DnsTempError when nobody answered."""
        return [_text(rdata) for rdata in self.answers(name, rdtype)]

    def answers(self, name: str, rdtype: str) -> list[object]:
        """The records themselves (dnspython rdata), for readers that need their parts."""
        try:
            return list(self._resolver.resolve(name, rdtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:  # timeout, SERVFAIL, no server answering, a garbled answer
            raise DnsTempError(f"{name} {rdtype}: {exc}") from exc

    def txt(self, name: str) -> list[str]:
        return self.lookup(name, "TXT")


def _text(rdata: object) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings).decode("utf-8", "replace")
    return rdata.to_text()  # type: ignore[attr-defined]


def _nameserver(text: str) -> dns.nameserver.Do53Nameserver:
    """`host`, `host:port` or `[v6]:port`."""
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        port = int(number)
    return dns.nameserver.Do53Nameserver(host, port)
