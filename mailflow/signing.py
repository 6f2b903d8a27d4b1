"""HMAC-signed tokens carried in addresses: Reply-To (who, which customer, why, until when) and VERP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from mailflow.errors import TokenError

# Append only: a token carries its purpose's index, so reordering would change what issued tokens mean.
PURPOSES = ("notice", "invitation", "digest", "answer", "duplicate", "login", "unsubscribe", "help", "notify",
            "confirm")
_EPOCH = date(2020, 1, 1)
_MAC_BYTES = 10  # 80 bits: forging is hopeless, and the local part stays under 64 characters
_CLAIM = struct.Struct(">IIBH")


@dataclass(frozen=True)
class ReplyClaim:
    user_id: int
    customer_id: int | None
    purpose: str
    expires_on: date


class Signer:
    def __init__(self, secret: bytes) -> None:
        # keyed once and copied per token: setting up the key was a third of an HMAC's cost
        self._reply_hmac = _keyed(hmac.new(secret, b"mailflow reply token", hashlib.sha256).digest())
        self._verp_hmac = _keyed(hmac.new(secret, b"mailflow verp token", hashlib.sha256).digest())

    def reply_token(self, user_id: int, customer_id: int | None, purpose: str, expires_on: date) -> str:
        body = _CLAIM.pack(user_id, customer_id or 0, PURPOSES.index(purpose), (expires_on - _EPOCH).days)
        return _b32(body + self._mac(self._reply_hmac, body))

    def read_reply_token(self, token: str, today: date) -> ReplyClaim:
        """The claim of a genuine token; TokenError says why when it is not usable."""
        body = self._verified(self._reply_hmac, token, _CLAIM.size)
        user_id, customer_id, purpose, days = _CLAIM.unpack(body)
        claim = ReplyClaim(user_id, customer_id or None, PURPOSES[purpose % len(PURPOSES)],
                           _EPOCH + timedelta(days=days))
        if claim.expires_on < today:
            raise TokenError("this reply address has expired", reason="expired")
        return claim

    def verp_token(self, outbox_id: int) -> str:
        body = struct.pack(">Q", outbox_id)
        return _b32(body + self._mac(self._verp_hmac, body)[:6])

    def read_verp_token(self, token: str) -> int:
        return struct.unpack(">Q", self._verified(self._verp_hmac, token, 8, mac_bytes=6))[0]

    def _verified(self, keyed: hmac.HMAC, token: str, size: int, mac_bytes: int = _MAC_BYTES) -> bytes:
        raw = _unb32(token)
        if raw is None or len(raw) != size + mac_bytes:
            raise TokenError("this reply address is not valid", reason="invalid")
        body, mac = raw[:size], raw[size:]
        if not hmac.compare_digest(mac, self._mac(keyed, body)[:mac_bytes]):
            raise TokenError("this reply address is not valid", reason="invalid")
        return body

    @staticmethod
    def _mac(keyed: hmac.HMAC, body: bytes) -> bytes:
        mac = keyed.copy()
        mac.update(body)
        return mac.digest()[:_MAC_BYTES]


def _keyed(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


def _b32(raw: bytes) -> str:
    """Lower-case base32 without padding: survives MTAs and clients that change the case of local parts."""
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _unb32(token: str) -> bytes | None:
    """The bytes of a token in its one canonical form (any case); None for anything else.

    base32 leaves spare bits in its last character: `…rb4` and `…rb5` decode to the same bytes. Only the
    spelling `_b32` gives is accepted, so a token has exactly one form (no variants to slip past a
    filter or a log search).
    """
    text = token.strip().lower()
    try:
        raw = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (ValueError, TypeError):
        return None
    return raw if _b32(raw) == text else None


def token_from_address(address: str, prefix: str) -> str | None:
    """`reply+TOKEN@domain` → TOKEN (None for any other shape)."""
    local = address.strip().strip("<>").rpartition("@")[0]
    head, plus, token = local.partition("+")
    return token if plus and head.lower() == prefix and token else None


def today_utc(now: datetime) -> date:
    return now.astimezone(timezone.utc).date()
