"""A tiny authoritative DNS server on loopback (dnslib), so no test ever asks the network."""

from __future__ import annotations

import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dnslib import MX, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from mailflow.config import Config
from mailflow.dns_records import split
from mailflow.outbound.dkim import KeyStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # env.START: keys made "before" every test's clock


class Zone(BaseResolver):
    """Names and their records, changed by tests while the server runs; anything else is NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.asked: dict[tuple[str, str], int] = defaultdict(int)  # questions that reached the server
        self.lock = threading.Lock()

    def add(self, name: str, rdtype: str, value: str) -> None:
        with self.lock:
            self.records[(name.lower().rstrip("."), rdtype)].append(value)

    def clear(self) -> None:
        with self.lock:
            self.records.clear()
            self.asked.clear()

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        rdtype = QTYPE[request.q.qtype]
        with self.lock:
            self.asked[(name, rdtype)] += 1
            values = list(self.records.get((name, rdtype), []))
            exists = any(key[0] == name for key in self.records)
        for value in values:
            reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=_rdata(rdtype, value), ttl=60))
        if not values and not exists:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def _rdata(rdtype: str, value: str) -> object:
    if rdtype == "TXT":
        return TXT([part.encode() for part in split(value)])
    if rdtype == "MX":
        preference, host = value.split()
        return MX(host, int(preference))
    return A(value)


class DnsStub:
    """UDP and TCP on one loopback port; `address` is what `[dns] nameservers` takes."""

    def __init__(self) -> None:
        self.zone = Zone()
        quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self.udp = DNSServer(self.zone, port=0, address="127.0.0.1", logger=quiet)
        self.port = self.udp.server.server_address[1]
        self.tcp = DNSServer(self.zone, port=self.port, address="127.0.0.1", tcp=True, logger=quiet)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "DnsStub":
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self) -> None:
        for server in (self.udp, self.tcp):
            server.server.shutdown()
            server.server.server_close()


_shared: DnsStub | None = None
_keys: Path | None = None


def shared() -> DnsStub:
    """One stub for the whole test session (started on first use, a daemon thread ended with the process)."""
    global _shared
    if _shared is None:
        _shared = DnsStub().start()
    return _shared


@pytest.fixture
def zone() -> Iterator[Zone]:
    """The session stub's records, for a test to add to; emptied after it."""
    stub = shared()
    yield stub.zone
    stub.zone.clear()


def stop_shared() -> None:
    """End the session's stub, if one was started, so its sockets are closed before the interpreter exits."""
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


def shared_keys(config: Config) -> Path:
    """A DKIM key folder for the session: RSA keys take a tenth of a second each to make."""
    global _keys
    if _keys is None:
        _keys = Path(tempfile.mkdtemp(prefix="mailflow-dkim-"))
        KeyStore(replace(config, dkim=replace(config.dkim, key_dir=str(_keys)))).ensure(START)
    return _keys
