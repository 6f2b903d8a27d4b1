"""Secrets out of everything said: URL passwords and configured credentials become `***`."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from mailflow.config import Config

MASK = "***"
# scheme://user:password@ - a password cannot hold an unescaped '/', '@' or space
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)([^\s/@]+)(@)")
# a reply or bounce address carries a signed token in its local part: only the word before '+' is shown
_TOKEN_ADDRESS = re.compile(r"\b(reply|bounces)\+[^\s@<>\"',;]+@")
# a magic link's path: the token after /auth/, /address/, /address/undo/ or /unsubscribe/ is the key itself
_LINK_TOKEN = re.compile(r"(/(?:auth|address/undo|address|unsubscribe)/)(?!undo/)[A-Za-z0-9_.~%-]{8,}")
MIN_SECRET = 4  # shorter values are too common as parts of ordinary words to be hidden by their text
_known: set[str] = set()
_lock = threading.Lock()


def masked(text: str) -> str:
    """`text` with every URL's password, link or address token and remembered secret replaced by `***`."""
    text = _TOKEN_ADDRESS.sub(rf"\1+{MASK}@", _USERINFO.sub(rf"\1{MASK}\3", text))
    text = _LINK_TOKEN.sub(rf"\1{MASK}", text)
    for secret in _secrets():
        text = text.replace(secret, MASK)
    return text


def remember(*secrets: str) -> None:
    """Hide these values wherever they appear from now on (a password's raw and URL-encoded forms)."""
    found = {s for value in secrets if value for s in (value, unquote(value)) if len(s) >= MIN_SECRET}
    with _lock:
        _known.update(found)


def url_password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:  # a malformed URL is reported by the configuration check, not here
        return ""


def _secrets() -> list[str]:
    with _lock:
        return sorted(_known, key=len, reverse=True)  # longest first: a secret containing another goes whole


def remember_config(config: Config) -> None:
    """Hide every credential the configuration holds: database, SMTP relay, IMAP, signing key, API keys."""
    remember(url_password(config.database.url), config.outbound.smtp_password, config.inbound.imap.password,
             config.security.secret_key, *(issuer.api_key for issuer in config.issuers))
