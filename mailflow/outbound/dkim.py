"""DKIM for outbound mail: a key per From domain, selectors rotated without a gap, each mail signed as it leaves."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Iterator

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailflow.config import Config
from mailflow.errors import ConfigError, NotFound
from mailflow.outbound.transports import Connection, Transport

log = logging.getLogger(__name__)

# What a filter or a replay could change to make a mail say something else. Each is listed twice: the second,
# absent, instance is signed as empty, so nobody can add a second From or Subject that readers would show.
SIGNED_HEADERS = ("from", "to", "subject", "date", "message-id", "reply-to", "list-unsubscribe",
                  "list-unsubscribe-post", "mime-version", "content-type", "content-language", "auto-submitted",
                  "in-reply-to", "references")
STATE_FILE = "selectors.json"
PENDING, ACTIVE, RETIRING = "pending", "active", "retiring"
_FROM_LINE = re.compile(rb"(?im)^from:(.*(?:\r?\n[ \t].*)*)")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Selector:
    """One key of one domain and where it stands: published and waiting, signing, or kept for mail in flight."""

    domain: str
    selector: str
    path: str
    status: str  # pending | active | retiring
    created_at: str
    activated_at: str | None = None
    retired_at: str | None = None
    configured: bool = False  # given by path in config.toml: rotated by editing it, never by mailflow

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").lower()


def signing_domains(config: Config) -> list[str]:
    """Every From domain mail can carry: the default sender's and each issuer's own."""
    addresses = [config.outbound.from_address, *(i.from_address for i in config.issuers if i.from_address)]
    return sorted({domain_of(a) for a in addresses})


def generate_key(path: Path) -> None:
    """A new RSA 2048 private key, readable by its owner only from the moment it exists."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def public_record(private_pem: bytes) -> str:
    """The TXT value of the selector: `v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo, base64>`."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


class KeyStore:
    """Keys and their selectors: `[dkim] key_dir`/selectors.json for generated ones, `[[dkim.keys]]` for given ones."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.folder = config.path(config.dkim.key_dir)
        self.state = self.folder / STATE_FILE

    def selectors(self) -> list[Selector]:
        given = [Selector(k.domain.lower(), k.selector, str(self.config.path(k.path)), ACTIVE, "", configured=True)
                 for k in self.config.dkim.keys]
        overridden = {s.domain for s in given}
        return given + [s for s in self._stored() if s.domain not in overridden]

    def _stored(self) -> list[Selector]:
        if not self.state.exists():
            return []
        return [Selector(**item) for item in json.loads(self.state.read_text(encoding="utf-8"))]

    def _save(self, selectors: list[Selector]) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = self.state.with_suffix(".tmp")
        scratch.write_text(json.dumps([asdict(s) for s in selectors], indent=2), encoding="utf-8")
        os.replace(scratch, self.state)  # a worker reading it meanwhile sees the old state or the new, never half

    def of(self, domain: str) -> list[Selector]:
        return [s for s in self.selectors() if s.domain == domain]

    def active(self, domain: str) -> Selector | None:
        return next((s for s in self.of(domain) if s.status == ACTIVE), None)

    def ensure(self, now: datetime) -> list[Selector]:
        """A signing key for every From domain that has none yet (`init`, `serve`); the ones made."""
        made = [self._new(domain, ACTIVE, now) for domain in signing_domains(self.config) if not self.of(domain)]
        if made:
            self._save(self._stored() + made)
        return made

    def rotate(self, domain: str, now: datetime) -> Selector:
        """Step one: a new key, published but not used (or the one already waiting)."""
        self._generated(domain)
        waiting = next((s for s in self.of(domain) if s.status == PENDING), None)
        if waiting is not None:
            return waiting
        made = self._new(domain, PENDING, now)
        self._save(self._stored() + [made])
        return made

    def activate(self, domain: str, now: datetime) -> Selector:
        """Step two: the waiting key signs from now on; the one it replaces is kept for the mail it signed."""
        self._generated(domain)
        waiting = next((s for s in self.of(domain) if s.status == PENDING), None)
        if waiting is None:
            raise NotFound(f"no new DKIM key is waiting for {domain}: run `mailflow dkim rotate {domain}` first")
        stamp = now.isoformat(timespec="seconds")
        changed = [self._advanced(s, waiting, stamp) for s in self._stored()]
        self._save(changed)
        return replace(waiting, status=ACTIVE, activated_at=stamp)

    @staticmethod
    def _advanced(item: Selector, waiting: Selector, stamp: str) -> Selector:
        if item == waiting:
            return replace(item, status=ACTIVE, activated_at=stamp)
        if item.domain == waiting.domain and item.status == ACTIVE:
            return replace(item, status=RETIRING, retired_at=stamp)
        return item

    def needed(self, now: datetime) -> list[Selector]:
        """Selectors whose record must stay published: waiting, signing, or retired less than `retire_days` ago
        (mail signed just before a rotation may sit in a relay's queue for days: Postfix keeps it five)."""
        keep = timedelta(days=self.config.dkim.retire_days)
        return [s for s in self.selectors()
                if s.status != RETIRING or datetime.fromisoformat(s.retired_at or "") + keep > now]

    def _generated(self, domain: str) -> None:
        if any(s.configured for s in self.of(domain)):
            raise ConfigError(f"the DKIM key of {domain} is given in [[dkim.keys]]: rotate it by changing that entry")

    def _new(self, domain: str, status: str, now: datetime) -> Selector:
        taken = {s.selector for s in self.of(domain)}
        base = f"mf{now:%Y%m%d}"
        selector = next(name for name in (base, *(f"{base}{c}" for c in "bcdefghijklmnopqrstuvwxyz"))
                        if name not in taken)
        path = self.folder / f"{domain}.{selector}.pem"
        generate_key(path)
        stamp = now.isoformat(timespec="seconds")
        return Selector(domain, selector, str(path), status, stamp, stamp if status == ACTIVE else None)


class DkimSigner:
    """Signs with the active key of the mail's From domain; rereads the selectors when `dkim rotate` changed them."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._seen: float | None = None
        self._keys: dict[str, tuple[Selector, bytes]] = {}
        self._warned: set[str] = set()

    def sign(self, raw: bytes) -> bytes:
        domain = from_domain(raw)
        key = self._key(domain)
        if key is None:
            if domain not in self._warned:  # once per process: every mail of that domain goes out unsigned
                self._warned.add(domain)
                log.warning("no DKIM key for %s: its mail leaves unsigned (run `mailflow init`)", domain or "?")
            return raw
        selector, pem = key
        present = _present(raw)
        headers = [*SIGNED_HEADERS, *(name for name in SIGNED_HEADERS if name in present)]  # see SIGNED_HEADERS
        signature = dkim.sign(raw, selector.selector.encode(), domain.encode(), pem,
                              canonicalize=(b"relaxed", b"relaxed"), include_headers=[h.encode() for h in headers])
        return signature + raw

    def _key(self, domain: str) -> tuple[Selector, bytes] | None:
        self._refresh()
        if domain not in self._keys:
            active = self.store.active(domain)
            if active is None:
                return None
            self._keys[domain] = (active, Path(active.path).read_bytes())
        return self._keys[domain]

    def _refresh(self) -> None:
        seen = self.store.state.stat().st_mtime if self.store.state.exists() else None
        if seen != self._seen:
            self._seen, self._keys = seen, {}


def from_domain(raw: bytes) -> str:
    """The domain of the From address, read from the header block alone."""
    end = _HEAD_END.search(raw)
    found = _FROM_LINE.search(raw, 0, end.start() if end else len(raw))
    if not found:
        return ""
    value = found.group(1).decode("ascii", "replace").replace("\r\n", "").replace("\n", "")
    addresses = [address for _, address in getaddresses([value]) if "@" in address]
    return domain_of(addresses[0]) if addresses else ""


def _present(raw: bytes) -> set[str]:
    end = _HEAD_END.search(raw)
    head = raw[: end.start() if end else len(raw)]
    return {m.group(1).decode("ascii").lower() for m in re.finditer(rb"(?m)^([!-9;-~]+):", head)}


class SigningTransport:
    """Wraps the transport: each mail is signed on its way out, never in the outbox.

    Why at send time rather than when a mail is queued: the signature covers the exact bytes that leave,
    whatever became of the stored row (retries and staff's "retry" send its bytes again, signed again, so they
    always verify); it names the key in force when the mail leaves, so a rotation never strands queued mail
    with a selector already withdrawn (only the relay's queue, `retire_days`, must be waited out); RSA takes
    some 8 ms a mail in dkimpy, which would otherwise sit inside the transactions that queue mail (a digest
    run, an import) holding the write lock; and only delivery workers need to read the private keys. The Date
    header stays the one written when the mail was composed (the signature covers it; its `t=` says when it
    left).
    """

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.inner.connect() as connection:
            yield _SigningConnection(connection, self.signer)


class _SigningConnection:
    def __init__(self, inner: Connection, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> str:
        return self.inner.send(envelope_from, recipient, self.signer.sign(raw))
