"""The inbound SMTP door: check the recipient and size, store the raw bytes, and only then say 250."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailflow.errors import StorageError
from mailflow.inbound.committer import GroupCommitter
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

REFUSED_DOMAIN = "550 5.1.2 Mail for this domain is not accepted here"
TOO_BIG = "552 5.3.4 Message too big for this system"


@dataclass
class InboundHandler:
    """aiosmtpd handler: check, store, answer (the work itself happens in the inbound worker)."""

    committer: GroupCommitter
    domains: frozenset[str]
    max_bytes: int

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.rpartition("@")[2].strip().rstrip(".").lower() not in self.domains:
            return REFUSED_DOMAIN
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self.max_bytes:
            return TOO_BIG
        try:
            stored = await self.committer.store(raw, "smtp", envelope.mail_from or "", list(envelope.rcpt_tos))
        except StorageError as exc:
            log.error("inbound SMTP: %s", exc.message)
            return exc.smtp_reply
        log.info("inbound SMTP: stored message %s (%d bytes) from <%s>", stored, len(raw), envelope.mail_from)
        return f"250 2.0.0 Stored as {stored}"


class TolerantSMTP(SMTP):
    """Accepts lines longer than RFC 5321's 1000 octets: refusing them would lose real mail."""

    line_length_limit = 1 << 20

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's own parsing of a MAIL or RCPT address, less the typing.Protocol class it defines on
        every call: making that class was about a tenth of the server's time per message."""
        if not arg:
            return "", ""
        try:
            parse = get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec
            address, rest = parse(arg)
        except HeaderParseError:
            return None, None
        addr = address.addr_spec
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest


class _Controller(Controller):
    handler: InboundHandler

    def factory(self) -> SMTP:
        return TolerantSMTP(self.handler, **self.SMTP_kwargs)

    def _run(self, ready_event: threading.Event) -> None:
        try:
            super()._run(ready_event)
        finally:  # the loop's thread opened the connection the committer writes through
            self.handler.committer.close()


class InboundSmtpServer:
    """Start and stop the inbound SMTP listener (own thread and event loop)."""

    def __init__(self, rt: Runtime, host: str | None = None, port: int | None = None) -> None:
        cfg = rt.config.inbound.smtp
        self.host = host or cfg.host
        self.port = port if port is not None else cfg.port
        self.port = self.port or free_port(self.host)
        self.committer = GroupCommitter(rt)
        self.handler = InboundHandler(self.committer, frozenset(d.lower().rstrip(".") for d in cfg.domains),
                                      cfg.max_message_bytes)
        self.controller = _Controller(self.handler, hostname=self.host, port=self.port,
                                      data_size_limit=cfg.max_message_bytes, enable_SMTPUTF8=True,
                                      ident="mailflow inbound")

    def start(self) -> "InboundSmtpServer":
        # aiosmtpd logs every SMTP command at INFO; mailflow logs what matters (stored, refused, failed).
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller.start()
        log.info("inbound SMTP listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        self.controller.stop()


def free_port(host: str) -> int:
    """A port nobody listens on, for port 0 (aiosmtpd needs to know its port up front)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
