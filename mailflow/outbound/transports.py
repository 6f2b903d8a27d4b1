"""Transports: an SMTP relay (one connection per batch) or a local Maildir."""

from __future__ import annotations

import mailbox
import smtplib
import socket
import ssl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

from mailflow.config import OutboundConfig
from mailflow.errors import DeliveryError


# RFC 5321 3.8: the relay is closing the connection; nothing more can be sent on it.
SERVICE_CLOSING = 421


class Connection(Protocol):
    def send(self, envelope_from: str, recipient: str, raw: bytes) -> str:
        """Hand one message over; return the server's answer or raise DeliveryError."""


class Transport(Protocol):
    def connect(self) -> "contextmanager[Connection]":
        """A connection for one batch."""


class MaildirTransport:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            box = mailbox.Maildir(str(self.folder), create=True)
            for sub in ("tmp", "new", "cur"):  # create=True skips these when the folder already exists
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"maildir unusable: {exc}", permanent=False) from exc
        yield _MaildirConnection(box)


class _MaildirConnection:
    def __init__(self, box: mailbox.Maildir) -> None:
        self.box = box

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> str:
        trace = f"Return-Path: <{envelope_from}>\nDelivered-To: {recipient}\n".encode()
        try:
            key = self.box.add(trace + raw.replace(b"\r\n", b"\n"))
        except OSError as exc:
            raise DeliveryError(f"maildir write failed: {exc}", permanent=False) from exc
        return f"250 stored in maildir as {key}"


class SmtpTransport:
    def __init__(self, config: OutboundConfig) -> None:
        self.config = config

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        client = self._open()
        try:
            yield _SmtpConnection(client)
        finally:
            _quietly_quit(client)

    def _open(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            client = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
            client.ehlo_or_helo_if_needed()
            if cfg.smtp_starttls:
                client.starttls(context=ssl.create_default_context())
            if cfg.smtp_username:
                client.login(cfg.smtp_username, cfg.smtp_password)
            return client
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"relay refused the login: {_answer(exc.smtp_code, exc.smtp_error)}",
                                permanent=False, code=exc.smtp_code) from exc
        except smtplib.SMTPResponseException as exc:  # the greeting, EHLO or STARTTLS was refused
            # The relay refuses us, not this mail: even a 5xx is retried later (Postfix: smtp_skip_5xx_greeting).
            raise DeliveryError(f"relay refused the session: {_answer(exc.smtp_code, exc.smtp_error)}",
                                permanent=False, code=exc.smtp_code) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"relay unreachable: {exc}", permanent=False) from exc


class _SmtpConnection:
    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> str:
        try:
            return self._transaction(envelope_from, recipient, raw)
        except DeliveryError as exc:
            if exc.code not in (None, SERVICE_CLOSING):  # the session is still good: clear this transaction
                self._reset()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"connection lost: {exc}", permanent=False) from exc

    def _transaction(self, envelope_from: str, recipient: str, raw: bytes) -> str:
        self._step(self.client.mail(envelope_from), "MAIL FROM")
        self._step(self.client.rcpt(recipient), "RCPT TO")
        try:
            reply = self.client.data(raw)
        except smtplib.SMTPDataError as exc:  # DATA itself was not answered with 354
            raise _refused(exc.smtp_code, exc.smtp_error, "DATA") from exc
        return self._step(reply, "DATA")

    def _step(self, reply: tuple[int, bytes], stage: str) -> str:
        code, text = reply
        if not 200 <= code < 300:
            raise _refused(code, text, stage)
        return _answer(code, text)

    def _reset(self) -> None:
        try:
            self.client.rset()
        except (OSError, smtplib.SMTPException):
            pass


def _refused(code: int, text: bytes | str, stage: str) -> DeliveryError:
    """A refusal keeps its code; a garbled or out-of-turn answer means the dialogue can no longer be trusted."""
    if code >= 400:
        return DeliveryError(f"{stage}: {_answer(code, text)}", permanent=code >= 500, code=code)
    return DeliveryError(f"{stage}: unexpected answer {_answer(code, text)}", permanent=False)


def _answer(code: int, text: bytes | str) -> str:
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(body.split())}"


def _quietly_quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException, socket.timeout):
        client.close()


def make_transport(config: OutboundConfig, root: Path) -> Transport:
    if config.transport == "smtp":
        return SmtpTransport(config)
    folder = Path(config.maildir)
    return MaildirTransport(folder if folder.is_absolute() else root / folder)
