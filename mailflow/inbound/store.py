"""The one way into the inbound table: raw bytes committed first, the same message kept once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32

from peewee import DatabaseError, IntegrityError, InterfaceError

from mailflow.clock import naive_utc
from mailflow.errors import StorageError
from mailflow.models import InboundMessage
from mailflow.runtime import Runtime

DOORS = ("smtp", "imap", "pipe")
_MSGID = re.compile(r"<([^<>]+)>")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def store_raw(rt: Runtime, raw: bytes, door: str, envelope_from: str | None = None,
              envelope_to: Iterable[str] = ()) -> InboundMessage:
    """Commit `raw` in one transaction and return its row; a message seen before returns the first row."""
    key, message_id = dedup_key(raw)
    try:
        return _insert(rt, raw, door, key, message_id, envelope_from, list(envelope_to))
    except IntegrityError:
        return _existing(key)
    except (DatabaseError, InterfaceError, OSError, ValueError) as exc:  # ValueError: a value the driver refuses
        raise StorageError(f"could not store the message: {exc}") from exc


def _insert(rt: Runtime, raw: bytes, door: str, key: str, message_id: str | None,
            envelope_from: str | None, envelope_to: list[str]) -> InboundMessage:
    with rt.db.atomic():
        return InboundMessage.create(**_values(rt, raw, door, key, message_id, envelope_from, envelope_to))


def _values(rt: Runtime, raw: bytes, door: str, key: str, message_id: str | None, envelope_from: str | None,
            envelope_to: Iterable[str]) -> dict[str, object]:
    recipients = [_text(a).strip() for a in envelope_to]
    return {"door": door, "dedup_key": key, "message_id": message_id, "raw": raw, "size": len(raw),
            "envelope_from": None if envelope_from is None else _text(envelope_from).strip()[:254],
            "envelope_to": "\n".join(a for a in recipients if a), "received_at": naive_utc(rt.now()),
            "status": "received"}


def store_many(rt: Runtime, items: list[tuple[bytes, str, str | None, list[str]]]) -> list[int]:
    """Commit several messages with one INSERT in the caller's transaction; the id of each, in order.

    A message seen before (or twice in `items`) keeps its first row. Any failure raises, and the
    caller falls back to `store_raw` one by one so a single bad message cannot sink the others.
    """
    keys = [dedup_key(raw) for raw, *_ in items]
    rows = {}
    for (key, message_id), (raw, door, envelope_from, envelope_to) in zip(keys, items):
        rows.setdefault(key, _values(rt, raw, door, key, message_id, envelope_from, envelope_to))
    InboundMessage.insert_many(list(rows.values())).on_conflict_ignore().execute()
    ids = dict(InboundMessage.select(InboundMessage.dedup_key, InboundMessage.id)
               .where(InboundMessage.dedup_key.in_(list(rows))).tuples())
    return [ids[key] for key, _ in keys]


def _text(value: str) -> str:
    """PostgreSQL refuses NUL in text: a stray NUL in an address or Message-ID must not cost the message."""
    return value.replace("\x00", "")


def _existing(key: str) -> InboundMessage:
    try:
        return InboundMessage.get(InboundMessage.dedup_key == key)
    except (DatabaseError, InterfaceError, InboundMessage.DoesNotExist) as exc:
        raise StorageError(f"could not store the message: {exc}") from exc


def dedup_key(raw: bytes) -> tuple[str, str | None]:
    """SHA-256 of the normalized Message-ID, or of the bytes when there is none; and that Message-ID."""
    message_id = normalized_message_id(raw)
    if message_id:
        return hashlib.sha256(b"message-id:" + message_id.encode("utf-8", "replace")).hexdigest(), message_id
    return hashlib.sha256(raw).hexdigest(), None


def normalized_message_id(raw: bytes) -> str | None:
    """`<id@host>` as written, unfolded and without spaces; None when absent or blank."""
    value = _header_block(raw).get("Message-ID")
    if not value:
        return None
    text = _text("".join(str(value).split()))
    found = _MSGID.search(text)
    text = f"<{found.group(1)}>" if found else text
    return text[:998] or None


def _header_block(raw: bytes):
    # Only the header block is parsed: a 20 MB body must not be decoded to find one header.
    end = _HEAD_END.search(raw)
    head = raw[: end.end()] if end else raw
    return BytesHeaderParser(policy=compat32).parsebytes(head)


def envelope_recipients(row: InboundMessage) -> list[str]:
    return [line for line in (row.envelope_to or "").split("\n") if line]
