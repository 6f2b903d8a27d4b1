"""Issuers come from configuration; the database mirrors them so documents can refer to them."""

from __future__ import annotations

from peewee import fn

from mailflow.config import IssuerConfig
from mailflow.errors import ValidationError
from mailflow.models import Issuer
from mailflow.tokens import digest


def sync_issuers(configured: list[IssuerConfig]) -> None:
    for item in configured:
        key_hash = digest(item.api_key) if item.api_key else None
        issuer, created = Issuer.get_or_create(prefix=item.prefix, defaults={"name": item.name,
                                                                            "api_key_hash": key_hash})
        if not created and (issuer.name, issuer.api_key_hash) != (item.name, key_hash):
            Issuer.update(name=item.name, api_key_hash=key_hash).where(Issuer.id == issuer.id).execute()


def issuer_for_number(number: str) -> Issuer:
    """The issuer whose prefix starts a customer number (longest prefix wins)."""
    for issuer in Issuer.select().order_by(fn.LENGTH(Issuer.prefix).desc()):
        if number.startswith(issuer.prefix) and number[len(issuer.prefix):].isdigit():
            return issuer
    prefixes = ", ".join(i.prefix for i in Issuer.select().order_by(Issuer.prefix))
    raise ValidationError(f"unknown issuer prefix in customer number {number!r} (configured: {prefixes})",
                          field="customer")


def issuer_by_api_key(key: str) -> Issuer | None:
    return Issuer.get_or_none(Issuer.api_key_hash == digest(key)) if key else None
