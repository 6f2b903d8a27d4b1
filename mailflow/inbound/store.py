"""The one way into the inbound table: raw bytes committed first, the same message kept once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from email.header import Header, decode_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from peewee import DatabaseError, IntegrityError, InterfaceError

from mailflow import bulk, wakeup
from mailflow.clock import naive_utc
from mailflow.errors import StorageError
from mailflow.models import InboundMessage
from mailflow.runtime import Runtime

DOORS = ("smtp", "imap", "pipe")
_MSGID = re.compile(r"<([^<>]+)>")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def store_raw(rt: Runtime, raw: bytes, door: str, envelope_from: str | None = None,
              envelope_to: Iterable[str] = (), client_ip: str | None = None, helo: str | None = None) -> InboundMessage:
    """Commit `raw` in one transaction and return its row; a message seen before returns the first row.
    `client_ip` and `helo`: the SMTP client's, where known, for the SPF check."""
    key, message_id = dedup_key(raw)
    try:
        return _insert(rt, raw, door, key, message_id, envelope_from, list(envelope_to), client_ip, helo)
    except IntegrityError:
        return _existing(key)
    except (DatabaseError, InterfaceError, OSError, ValueError) as exc:  # ValueError: a value the driver refuses
        raise StorageError(f"could not store the message: {exc}") from exc


def _insert(rt: Runtime, raw: bytes, door: str, key: str, message_id: str | None,
            envelope_from: str | None, envelope_to: list[str], client_ip: str | None = None,
            helo: str | None = None) -> InboundMessage:
    with rt.db.atomic():
        row = InboundMessage.create(**_values(rt, raw, door, key, message_id, envelope_from, envelope_to, client_ip,
                                              helo))
        wakeup.announce(wakeup.INBOUND)  # the inbound workers, here and (PostgreSQL) in other processes
        return row


def _values(rt: Runtime, raw: bytes, door: str, key: str, message_id: str | None, envelope_from: str | None,
            envelope_to: Iterable[str], client_ip: str | None = None, helo: str | None = None) -> dict[str, object]:
    row = _row(naive_utc(rt.now()), key, message_id, raw, door, envelope_from, envelope_to, client_ip, helo)
    return {field.name: value for field, value in zip(_FIELDS, row)}


def store_many(rt: Runtime, items: list[tuple]) -> list[int]:
    """Store several messages with one INSERT (its own transaction outside one, else in the caller's);
    the id of each, in order.

    A message seen before (or twice in `items`) keeps its first row. Any failure raises, and the
    caller falls back to `store_raw` one by one so a single bad message cannot sink the others.
    """
    keys = [dedup_key(raw) for raw, *_ in items]
    received_at = naive_utc(rt.now())  # once: the whole batch is committed at this moment
    rows: dict[str, tuple] = {}
    for (key, message_id), item in zip(keys, items):
        if key not in rows:
            rows[key] = _row(received_at, key, message_id, *item)
    ids = dict(bulk.insert(_FIELDS, list(rows.values()), returning=(InboundMessage.dedup_key, InboundMessage.id),
                           ignore_conflicts_on=(InboundMessage.dedup_key,)))
    if len(ids) < len(rows):  # seen before: the first row's id
        ids.update(_ids_of([key for key in rows if key not in ids]))
    return [ids[key] for key, _ in keys]


_FIELDS = (InboundMessage.door, InboundMessage.dedup_key, InboundMessage.message_id, InboundMessage.raw,
           InboundMessage.size, InboundMessage.envelope_from, InboundMessage.envelope_to,
           InboundMessage.received_at, InboundMessage.status, InboundMessage.client_ip, InboundMessage.helo)


def _row(received_at: datetime, key: str, message_id: str | None, raw: bytes, door: str,
         envelope_from: str | None, envelope_to: Iterable[str], client_ip: str | None = None,
         helo: str | None = None) -> tuple:
    """A message's column values in `_FIELDS` order."""
    recipients = [_text(a).strip() for a in envelope_to]
    return (door, key, message_id, raw, len(raw),
            None if envelope_from is None else _text(envelope_from).strip()[:254],
            "\n".join(a for a in recipients if a), received_at, "received",
            (client_ip or None) and _text(client_ip)[:45], (helo or None) and _text(helo)[:255])


def _ids_of(keys: list[str]) -> dict[str, int]:
    query = InboundMessage.select(InboundMessage.dedup_key, InboundMessage.id)
    return dict(query.where(InboundMessage.dedup_key.in_(keys)).tuples())


def _text(value: str) -> str:
    """PostgreSQL refuses NUL in text: a stray NUL in an address or Message-ID must not cost the message."""
    return value.replace("\x00", "")


def _existing(key: str) -> InboundMessage:
    try:
        return InboundMessage.get(InboundMessage.dedup_key == key)
    except (DatabaseError, InterfaceError, InboundMessage.DoesNotExist) as exc:
        raise StorageError(f"could not store the message: {exc}") from exc


def dedup_key(raw: bytes) -> tuple[str, str | None]:
    """SHA-256 of the normalized Message-ID with the From address, or of the bytes when there is no
    Message-ID; and that Message-ID.

    A Message-ID alone is not enough: anyone can write one already used (by mistake or to have a genuine
    reply dropped). The From address is in the bytes, so every door (SMTP, IMAP, pipe) finds the same one,
    and an MTA retry or an IMAP re-poll of the same message still gets the same key.
    """
    message_id, sender = _identity(raw)
    if not message_id:
        return hashlib.sha256(raw).hexdigest(), None
    key = b"message-id:" + _utf8(message_id) + b"\nfrom:" + _utf8(sender)
    return hashlib.sha256(key).hexdigest(), message_id


def _identity(raw: bytes) -> tuple[str | None, str]:
    """The normalized Message-ID and From address, read by the fast path when the header block allows."""
    end = _plain_end(raw)
    if end is None:
        head = _header_block(raw)
        return _normal_id(head.get("Message-ID")), _normal_address(head.get("From"))
    return (_normal_id(_line_value(_MESSAGE_ID_LINE, raw, end)),
            _normal_address(_line_value(_FROM_LINE, raw, end)))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # surrogates stand for undecodable bytes: keep them apart


def normalized_message_id(raw: bytes) -> str | None:
    """`<id@host>` as written, unfolded and without spaces; None when absent or blank."""
    value = _plain_message_id(raw)
    if value is _UNSURE:
        value = _header_block(raw).get("Message-ID")
    return _normal_id(value)


def normalized_sender(raw: bytes) -> str:
    """The From header's address, lower-cased; '' when there is none."""
    value = _plain_from(raw)
    if value is _UNSURE:
        value = _header_block(raw).get("From")
    return _normal_address(value)


def _normal_id(value: object) -> str | None:
    if not value:
        return None
    text = _text("".join(str(value).split()))
    found = _MSGID.search(text)
    text = f"<{found.group(1)}>" if found else text
    return text[:998] or None


def _normal_address(value: object) -> str:
    if not value:
        return ""
    text = " ".join(_header_text(value).split())
    plain = _PLAIN_ADDRESS.fullmatch(text)
    return _text((plain.group(1) or plain.group(2)) if plain else parseaddr(text)[1]).lower()


# `Name <user@host>` or `user@host` with nothing parseaddr reads specially (quotes, comments, routes, groups,
# escapes, a second address): what it would return, at a tenth of its cost, which was a third of a group
# commit's CPU (tests/unit/test_message_id.py checks both agree).
_ATOMS = r"[^\s\"()<>,;:\\@\[\]]+"
_PLAIN_ADDRESS = re.compile(rf"[^\"()<>,;:\\@\[\]]*<({_ATOMS}@{_ATOMS})>|({_ATOMS}@{_ATOMS})")


def _header_text(value: object) -> str:
    """A header value as text; 8-bit bytes (the parser hands those over as a Header) decoded as UTF-8, with
    undecodable bytes kept distinct rather than all turned into the same replacement character."""
    if not isinstance(value, Header):
        return str(value)
    return "".join(part.decode("utf-8", "surrogateescape") if isinstance(part, bytes) else part
                   for part, _ in decode_header(value))


_UNSURE = object()
_HEADER_LINE = rb"[\x21-\x39\x3b-\x7e]+:[\t\x20-\x7e]*"
_PLAIN_HEAD = re.compile(_HEADER_LINE + rb"(?:\r?\n(?:" + _HEADER_LINE + rb"|[ \t][\t\x20-\x7e]*))*")
_MESSAGE_ID_LINE = re.compile(rb"(?im)^message-id:(.*(?:\n[ \t].*)*)")
_FROM_LINE = re.compile(rb"(?im)^from:(.*(?:\n[ \t].*)*)")


def _plain_message_id(raw: bytes) -> str | None | object:
    """The Message-ID header's text when the header block is plain printable ASCII, read with two regular
    expressions; _UNSURE otherwise.

    The email parser costs several times more than the rest of storing a message; this gives what it
    gives for such blocks (tests/unit/test_message_id.py checks both agree) and leaves it the rest.
    """
    end = _plain_end(raw)
    return _UNSURE if end is None else _line_value(_MESSAGE_ID_LINE, raw, end)


def _plain_from(raw: bytes) -> str | None | object:
    """The From header's text, as _plain_message_id reads the Message-ID."""
    end = _plain_end(raw)
    return _UNSURE if end is None else _line_value(_FROM_LINE, raw, end)


def _plain_end(raw: bytes) -> int | None:
    """Where the header block ends, when it is plain enough for the regular expressions; None otherwise."""
    end = _HEAD_END.search(raw)
    return end.start() if end is not None and _is_plain(raw, end.start()) else None


def _line_value(line: re.Pattern[bytes], raw: bytes, end: int) -> str | None:
    found = line.search(raw, 0, end)
    return found.group(1).decode("ascii") if found else None


def _is_plain(raw: bytes, end: int) -> bool:
    """Only printable ASCII `Name: value` lines and their continuations: nothing the parser treats
    specially (a mbox `From ` line, a lone CR, a line that is no header and ends the block early)."""
    return _PLAIN_HEAD.fullmatch(raw, 0, end) is not None


_MAX_HEAD = 1 << 20


def _header_block(raw: bytes):
    # Only the header block is parsed: a 20 MB body must not be decoded to find one header (nor a 20 MB
    # message without a blank line decoded whole: no real header block is a megabyte long).
    end = _HEAD_END.search(raw)
    head = raw[: end.end()] if end else raw
    head = head[:_MAX_HEAD]
    return BytesHeaderParser(policy=compat32).parsebytes(head)


def envelope_recipients(row: InboundMessage) -> list[str]:
    return [line for line in (row.envelope_to or "").split("\n") if line]
