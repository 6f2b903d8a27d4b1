"""Subjects of replies and forwards: the one place that knows their prefixes (Re:, TR:, AW:, Antw:, [ext] …)."""

from __future__ import annotations

import re

__all__ = ["has_reply_prefix", "strip_subject_prefixes"]

# Reply and forward prefixes of the usual clients, in any chain ("RE: TR: [ext] Fwd: …").
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|tr|fw|fwd|wg|antw|antwoord|doorst|sv|vs|rif|r|ref|réf|res|enc|rv)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*"
    r"|\[[^\]]*\]\s*)+",
    re.IGNORECASE,
)


def strip_subject_prefixes(subject: str) -> str:
    """The subject without any chain of reply/forward prefixes and [tags]."""
    return _SUBJECT_PREFIX.sub("", subject, count=1).strip()


def has_reply_prefix(subject: str) -> bool:
    """Whether the subject opens with a reply or forward prefix (or a [tag])."""
    return bool(_SUBJECT_PREFIX.match(subject))
