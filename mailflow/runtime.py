"""The composition root: wires configuration, database, clock, signer, renderer and transport once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from peewee import Database

from mailflow import config as config_module
from mailflow.clock import Clock, SystemClock
from mailflow.config import Config
from mailflow.db import connect, open_database
from mailflow.migrations import apply_migrations
from mailflow.outbound.composer import Sender
from mailflow.outbound.renderer import Renderer
from mailflow.outbound.transports import Transport, make_transport
from mailflow.resolver import Resolver
from mailflow.signing import Signer
from mailflow.wakeup import Hub, hub_for


@dataclass
class Runtime:
    config: Config
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    transport_override: Transport | None = None
    roles: frozenset[str] = frozenset()  # what `serve` runs in this process; empty outside serve

    @cached_property
    def signer(self) -> Signer:
        return Signer(config_module.secret_key(self.config))

    @cached_property
    def renderer(self) -> Renderer:
        return Renderer()

    @cached_property
    def transport(self) -> Transport:
        transport = self.transport_override or make_transport(self.config.outbound, self.config.root)
        if not self.config.dkim.enabled:
            return transport
        from mailflow.outbound.dkim import DkimSigner, KeyStore, SigningTransport  # noqa: PLC0415 - delivery only
        return SigningTransport(transport, DkimSigner(KeyStore(self.config)))

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self.config.dns)

    @cached_property
    def wakeups(self) -> Hub:
        """Where this process's workers wait for work committed to this database."""
        return hub_for(self.db)

    @cached_property
    def sender(self) -> Sender:
        out = self.config.outbound
        return Sender(out.from_address, out.from_name, out.reply_domain, self.config.web.base_url)

    def now(self):
        return self.clock.now()

    def url(self, path: str) -> str:
        return f"{self.config.web.base_url.rstrip('/')}/{path.lstrip('/')}"

    def reply_token(self, user_id: int, customer_id: int | None, purpose: str) -> str:
        expires = self.now().date() + timedelta(days=self.config.security.reply_token_days)
        return self.signer.reply_token(user_id, customer_id, purpose, expires)

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def open_runtime(config: Config, clock: Clock | None = None, migrate: bool = True,
                 transport: Transport | None = None) -> Runtime:
    """Connect everything the configuration names; apply migrations unless told not to."""
    db = open_database(config.database.url, config.root, config.database.busy_timeout_seconds)
    connect(db, config.database.url)
    runtime = Runtime(config=config, db=db, clock=clock or SystemClock(), transport_override=transport)
    if migrate:
        apply_migrations(db, runtime.clock)
        from mailflow.issuers import sync_issuers  # noqa: PLC0415 - needs the tables just made
        sync_issuers(config.issuers)
    return runtime
