"""HMAC-signed tokens carried in addresses: Reply-To (who, which customer, why, until when) and VERP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from mailflow.errors import TokenError

PURPOSES = ("notice", "invitation", "digest", "answer", "duplicate", "login", "unsubscribe", "help", "notify")
_EPOCH = date(2020, 1, 1)
_MAC_BYTES = 10  # 80 bits: forging is hopeless, and the local part stays under 64 characters
_CLAIM = struct.Struct(">IIBH")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case
_PAIRS = tuple(first + second for first in _ALPHABET for second in _ALPHABET)  # each 10-bit value as 2 characters


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
    """Lower-case base32 without padding: survives MTAs and clients that change the case of local parts.

    Read as one integer, ten bits at a time (`base64.b32encode` is pure Python in 3.11 and took half as long
    again). Zero bits fill up the last character, as in b32encode; a character made of them alone is cut off.
    """
    bits = len(raw) * 8
    fill = -bits % 10
    number = int.from_bytes(raw, "big") << fill
    pairs = [_PAIRS[(number >> shift) & 0x3FF] for shift in range(bits + fill - 10, -1, -10)]
    return "".join(pairs)[:(bits + 4) // 5]


def _unb32(token: str) -> bytes | None:
    text = token.strip().upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, TypeError):
        return None


def token_from_address(address: str, prefix: str) -> str | None:
    """`reply+TOKEN@domain` → TOKEN (None for any other shape)."""
    local = address.strip().strip("<>").rpartition("@")[0]
    head, plus, token = local.partition("+")
    return token if plus and head.lower() == prefix and token else None


def today_utc(now: datetime) -> date:
    return now.astimezone(timezone.utc).date()
