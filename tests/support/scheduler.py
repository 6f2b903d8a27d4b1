"""Helpers for scheduler tests: local times, publishing at a moment, reading digests back from the outbox."""

from __future__ import annotations

import os
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from mailflow import actions
from mailflow.clock import FrozenClock
from mailflow.models import Digest, Document, Notification, Outbox, User
from mailflow.runtime import Runtime
from tests.support import factories

BRUSSELS = ZoneInfo("Europe/Brussels")


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BRUSSELS)


def publish_at(rt: Runtime, clock: FrozenClock, when: datetime, number: str,
               customer: str = "DL2123456", amount: str = "100.00") -> Document:
    """Publish a document at `when`, dated that local day."""
    clock.set(when)
    day = when.astimezone(BRUSSELS).date().isoformat()
    return factories.document(rt, customer, number, amount=amount, day=day)


def user(email: str) -> User:
    return User.get(User.email == email)


def choose(rt: Runtime, email: str, frequency: str) -> User:
    person = user(email)
    actions.set_frequency(rt, person, frequency)
    return person


def digest_messages(email: str) -> list[EmailMessage]:
    rows = Outbox.select().where(Outbox.kind == "digest", Outbox.recipient == email).order_by(Outbox.id)
    return [message_from_bytes(bytes(row.raw), policy=policy.default) for row in rows]


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def numbers_in(message: EmailMessage, candidates: list[str]) -> list[str]:
    body = text(message)
    return [number for number in candidates if f" {number}," in body]


def pending_count(email: str | None = None) -> int:
    query = Notification.select().where(Notification.status == "pending")
    return query.where(Notification.user == user(email)).count() if email else query.count()


def digest_count() -> int:
    return Digest.select().count()


def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """Environment pointing a `mailflow` subprocess at the test database."""
    return {**os.environ, "MAILFLOW_DATABASE_URL": database_url,
            "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
            "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"),
            "MAILFLOW_SECURITY_SECRET_KEY": "test-secret-key",
            "MAILFLOW_WEB_BASE_URL": "https://portal.example.test"}
