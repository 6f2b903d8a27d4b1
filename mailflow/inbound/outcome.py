"""What handling one inbound message came to: the status staff see, what was done, and for whom."""

from __future__ import annotations

from dataclasses import dataclass

from mailflow.models import Customer, Outbox, User

STATUSES = ("received", "processing", "processed", "staff", "ignored", "failed")


@dataclass
class Outcome:
    status: str  # processed | staff | ignored
    action: str  # one line for staff, in English
    user: User | None = None
    customer: Customer | None = None
    outbox: Outbox | None = None
