"""Issuers come from configuration (the database mirrors them so documents can refer to them), each with its face."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from mailflow.config import Config, IssuerConfig
from mailflow.errors import ValidationError
from mailflow.models import Customer, Issuer
from mailflow.tokens import digest

log = logging.getLogger(__name__)


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


DEFAULT_COLOUR = "#0b5cad"  # mailflow's own blue, as the viewer's stylesheet has it


@dataclass(frozen=True)
class Face:
    """How mail and pages about an issuer's customer numbers look and whom they come from.

    The deliverability side signs per From domain: `from_address` is the one address mail of this face is sent
    from. Hashable, so senders and rendered layouts can be remembered per face.
    """

    prefix: str  # "" for mailflow's own face (no issuer, or numbers of several)
    name: str
    from_address: str
    from_name: str
    support_address: str
    colour: str
    logo_path: Path | None
    footer: str

    @property
    def ink(self) -> str:
        """The colour for text and buttons on white: the issuer's when it is dark enough to read (WCAG AA,
        4.5:1 against white), mailflow's own otherwise; a pale brand colour still marks the header."""
        return self.colour if contrast(self.colour, "#ffffff") >= 4.5 else DEFAULT_COLOUR


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1 to 21."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def face(config: Config, customer: Customer | None) -> Face:
    """The face of the issuer of `customer`'s number; mailflow's own for None."""
    return face_of_numbers(config, [customer.number] if customer is not None else [])


def face_of_numbers(config: Config, numbers: list[str]) -> Face:
    """The face of the issuer of these customer numbers when they have one; mailflow's own otherwise (none, or
    numbers of several issuers: a mail about both must not speak for one of them)."""
    found = {id(item): item for item in (_configured(config, number) for number in numbers)}
    if len(found) == 1 and (item := found.popitem()[1]) is not None:
        return _face(config, item)
    return default_face(config)


def default_face(config: Config) -> Face:
    out = config.outbound
    return Face("", out.from_name, out.from_address, out.from_name, out.from_address, DEFAULT_COLOUR, None, "")


def _configured(config: Config, number: str) -> IssuerConfig | None:
    """The configured issuer whose prefix starts the number (longest prefix wins), without the database."""
    matching = [i for i in config.issuers if number.startswith(i.prefix) and number[len(i.prefix):].isdigit()]
    return max(matching, key=lambda i: len(i.prefix), default=None)


def _face(config: Config, item: IssuerConfig) -> Face:
    address = item.from_address or config.outbound.from_address
    logo = _logo(config.path(item.logo)) if item.logo else None
    return Face(item.prefix, item.name, address, item.from_name or item.name, item.support_address or address,
                item.colour or DEFAULT_COLOUR, logo, item.footer)


def _logo(path: Path) -> Path | None:
    """A logo that is missing leaves the name in text: every mail failing for want of a picture would be worse."""
    if path.is_file():
        return path
    log.warning("[[issuers]] logo %s is not a file: the issuer's name is shown instead", path)
    return None
