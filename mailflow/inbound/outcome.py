"""What handling one inbound message came to: the status staff see, what was done, and for whom."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailflow.models import Customer, Outbox, User


class InboundStatus(StrEnum):
    """Where an inbound message stands; the values are stored in inbound_messages.status."""

    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    STAFF = "staff"
    IGNORED = "ignored"
    FAILED = "failed"


STATUSES = tuple(InboundStatus)


@dataclass
class Outcome:
    status: InboundStatus  # processed | staff | ignored | failed
    action: str  # one line for staff, in English
    user: User | None = None
    customer: Customer | None = None
    outbox: Outbox | None = None
