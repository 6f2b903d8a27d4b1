"""Safe, bounded walks over a parsed MIME tree: parts, report blocks, the returned original's headers."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.message import Message

__all__ = ["content_type", "field", "fields", "header_blocks", "message_id", "original_headers", "parts", "report_type"]

_MAX_PARTS = 500
_MSGID = re.compile(r"<([^<>\s]+)>")


def parts(tree: Message | None) -> Iterator[Message]:
    """The message's own parts, depth first, bounded; attached messages are yielded, not entered.

    A report forwarded as an attachment is a person writing about a bounce, not a bounce.
    """
    if tree is None:
        return
    stack, seen = [tree], 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        payload = _payload(part)
        if isinstance(payload, list) and content_type(part).partition("/")[0] != "message":
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def report_type(part: Message) -> str:
    try:
        return str(part.get_param("report-type") or "").lower()
    except Exception:
        return ""


def field(block: Message, *names: str) -> str | None:
    """The first of `names` the block has, as text; a header that does not parse counts as absent."""
    for name in names:
        try:
            value = block.get(name)
        except Exception:
            continue
        if value is not None:
            return str(value)
    return None


def fields(block: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in block.get_all(name) or []]
    except Exception:
        return []


def header_blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status or feedback-report part."""
    payload = _payload(part)
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    # Some MTAs mislabel the encoding, leaving the fields as one text blob: parse it ourselves.
    chunks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return [email.message_from_string(c.strip() + "\n", policy=email.policy.compat32) for c in chunks if c.strip()]


def original_headers(tree: Message | None) -> Message | None:
    """Headers of the returned or reported original message, if the report attached them."""
    for part in parts(tree):
        kind, payload = content_type(part), _payload(part)
        if kind == "message/rfc822" and isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if kind == "text/rfc822-headers" and isinstance(payload, str):
            return email.message_from_string(payload.lstrip(), policy=email.policy.compat32)
    return None


def message_id(original: Message | None) -> str | None:
    value = field(original, "message-id") if original is not None else None
    found = _MSGID.search(value or "")
    return found.group(1) if found else ((value or "").strip() or None)


def _payload(part: Message) -> object:
    try:
        return part.get_payload()
    except Exception:
        return None
