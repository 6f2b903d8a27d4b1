"""One log line per event that matters, carrying the ids the staff console shows (inbound message, outbox row)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

inbound_log = logging.getLogger("mailflow.inbound")
outbound_log = logging.getLogger("mailflow.outbound")


def sender_text(sender: str | None) -> str:
    """An envelope sender as mail writes it: `<>` for the null sender of bounces, never `<<>>`."""
    return f"<{(sender or '').strip().strip('<>')}>"


def stored(inbound_id: int, door: str, sender: str | None) -> None:
    """A message is committed; `sender` None: it came without an envelope (the IMAP mailbox)."""
    shown = "no envelope" if sender is None else sender_text(sender)
    inbound_log.info("stored inbound message %s by %s from %s", inbound_id, door, shown,
                     extra={"event": "stored", "inbound_id": inbound_id, "door": door, "sender": shown})


def stored_row(row: Any) -> Any:
    """`stored` for a just-stored InboundMessage row, which it returns."""
    stored(row.id, row.door, row.envelope_from)
    return row


def stored_jobs(jobs: Sequence[Any], results: Sequence[object]) -> None:
    """`stored` for each message of a group commit that got its row id."""
    for job, result in zip(jobs, results):
        if isinstance(result, int):
            stored(result, job.door, job.envelope_from)


def understood(inbound_id: int, kind: str, commands: list[str]) -> None:
    inbound_log.info("inbound message %s understood: %s%s", inbound_id, kind,
                     f" ({', '.join(commands)})" if commands else "",
                     extra={"event": "understood", "inbound_id": inbound_id, "kind": kind, "commands": commands})


def acted(inbound_id: int, command: str, result: str, action: str, outbox_id: int | None) -> None:
    inbound_log.info("inbound message %s acted on (%s): %s: %s", inbound_id, command, result, action,
                     extra={"event": "acted", "inbound_id": inbound_id, "command": command, "result": result,
                            "action": action, "outbox_id": outbox_id})


def handled(inbound_id: int, understanding: Any, outcome: Any) -> None:
    """What the inbound worker understood of a message and what it did (both lines); a bounce's row too."""
    commands = [c.name for c in understanding.commands] if understanding is not None else []
    kind = str(understanding.kind) if understanding is not None else "unread"
    understood(inbound_id, kind, commands)
    outbox_id = outcome.outbox.id if outcome.outbox is not None else None
    acted(inbound_id, ", ".join(commands) or kind, str(outcome.status), outcome.action, outbox_id)
    if kind == "bounce" and outbox_id is not None:
        bounced(outbox_id, str(outcome.outbox.status), f"delivery report in inbound message {inbound_id}")


def bounced(outbox_id: int, status: str, reason: str) -> None:
    outbound_log.warning("outbox %s bounced (%s): %s", outbox_id, status, reason,
                         extra={"event": "bounced", "outbox_id": outbox_id, "status": status, "reason": reason})


def delivered(outcomes: Sequence[Any], recorded: Sequence[tuple[str, bool]]) -> None:
    """One line per delivery outcome this worker recorded (a row taken over by another is that one's to say)."""
    for outcome, (_, still_ours) in zip(outcomes, recorded):
        if still_ours:
            _outcome(outcome.row, outcome.status, outcome.response, outcome.when)


def _outcome(row: Any, status: str, response: str, when: datetime | None) -> None:
    ids = {"outbox_id": row.id, "kind": row.kind}
    if status == "sent":
        outbound_log.info("outbox %s sent (%s): %s", row.id, row.kind, response,
                          extra={"event": "sent", **ids, "answer": response})
    elif status == "deferred":
        at = when.isoformat(timespec="seconds") if when else None
        outbound_log.info("outbox %s deferred (%s) until %s: %s", row.id, row.kind, at, response,
                          extra={"event": "deferred", **ids, "reason": response, "next_attempt": at})
    elif status == "suppressed":
        outbound_log.info("outbox %s suppressed (%s): the address is suppressed", row.id, row.kind,
                          extra={"event": "suppressed", **ids})
    else:  # failed: the relay refused it for good
        bounced(row.id, status, response)
