"""Paperless delivery per customer number: each change kept (when, who, how), audited, confirmed by mail, and
read back by the issuer's back office, which stops printing for those numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from mailflow import audit
from mailflow.clock import aware_utc, naive_utc
from mailflow.errors import ValidationError
from mailflow.models import Customer, Issuer, PaperlessChange
from mailflow.outbound import mails
from mailflow.runtime import Runtime

VIAS = ("code", "signup", "portal", "staff", "cli")
COLUMNS = ("customer", "company", "enterprise_number", "delivery", "changed_at", "changed_by", "via")


def change(rt: Runtime, customer: Customer, paperless: bool, actor: str, via: str, action: str) -> Customer:
    """Switch `customer` to electronic (True) or paper delivery, within the caller's transaction."""
    Customer.update(paperless=paperless).where(Customer.id == customer.id).execute()
    row = PaperlessChange.create(customer=customer, paperless=paperless, at=naive_utc(rt.now()), actor=actor,
                                 via=via)
    audit.record(rt, actor, action, customer.number, paperless=paperless, via=via)
    updated = Customer.get_by_id(customer.id)
    _confirm(rt, updated, row)
    return updated


def _confirm(rt: Runtime, customer: Customer, row: PaperlessChange) -> None:
    """The primary contact hears of every change, whoever made it: paper or not is their company's choice."""
    # an address is a person; "cli" and "staff:…" are our own people, whom the mail calls the support team
    by_person = "@" in row.actor and not row.actor.startswith("staff:")
    context = {"paperless": row.paperless, "changed_by": row.actor if by_person else None,
               "portal_url": rt.url("activation")}
    mails.queue(rt, mails.MailRequest(customer.primary_user, "paperless_changed", "paperless", "notify", context,
                                      customer))


@dataclass(frozen=True)
class Row:
    """A customer number as the back office reads it: how its documents go out, and the last change."""

    customer: Customer
    last: PaperlessChange | None

    def values(self) -> dict[str, str | bool | None]:
        last = self.last
        return {"customer": self.customer.number, "company": self.customer.company,
                "enterprise_number": self.customer.enterprise_number or "",
                "delivery": "electronic" if self.customer.paperless else "paper",
                "changed_at": aware_utc(last.at).isoformat() if last else "",
                "changed_by": last.actor if last else "", "via": last.via if last else ""}


def rows(issuer: Issuer | None = None, since: datetime | None = None) -> list[Row]:
    """Every customer number (of `issuer`), or only those whose delivery changed at or after `since`."""
    latest = _latest_changes(issuer, since)
    query = Customer.select().order_by(Customer.number)
    if issuer is not None:
        query = query.where(Customer.issuer == issuer)
    if since is not None:
        query = query.where(Customer.id.in_(list(latest)))
    return [Row(customer, latest.get(customer.id)) for customer in query]


def _latest_changes(issuer: Issuer | None, since: datetime | None) -> dict[int, PaperlessChange]:
    query = PaperlessChange.select().join(Customer).order_by(PaperlessChange.at, PaperlessChange.id)
    if issuer is not None:
        query = query.where(Customer.issuer == issuer)
    if since is not None:
        query = query.where(PaperlessChange.at >= naive_utc(since))
    return {row.customer_id: row for row in query}  # ordered by time: the last one of each number wins


def parse_since(text: str, zone: str) -> datetime:
    """`2026-11-01` (midnight, local time) or an ISO date and time (local unless it names its offset)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"since must be a date (2026-11-01) or an ISO date and time, got {text!r}",
                              field="since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))
