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
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"relay unreachable: {exc}", permanent=False) from exc


class _SmtpConnection:
    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> str:
        try:
            self._step(self.client.mail(envelope_from), "MAIL FROM")
            self._step(self.client.rcpt(recipient), "RCPT TO")
            return self._step(self.client.data(raw), "DATA")
        except DeliveryError:
            self._reset()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"connection lost: {exc}", permanent=False) from exc

    def _step(self, reply: tuple[int, bytes], stage: str) -> str:
        code, text = reply
        answer = f"{stage}: {_answer(code, text)}"
        if code >= 400:
            raise DeliveryError(answer, permanent=code >= 500, code=code)
        return _answer(code, text)

    def _reset(self) -> None:
        try:
            self.client.rset()
        except (OSError, smtplib.SMTPException):
            pass


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
