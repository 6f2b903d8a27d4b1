"""Kept for older imports: requests are read by `requests.read_requests`; subjects live in `subjects`."""

from __future__ import annotations

from mailflow.inbound.requests import Intent, normalize_document_number, read_requests
from mailflow.inbound.subjects import strip_subject_prefixes

__all__ = ["ParsedCommand", "find_commands", "normalize_document_number", "strip_subject_prefixes"]

ParsedCommand = Intent


def find_commands(subject: str, reply_text: str) -> list[Intent]:
    """Every request read from a subject and a trimmed reply, clear or not (see `Intent.decision`)."""
    return read_requests(subject, reply_text).intents
