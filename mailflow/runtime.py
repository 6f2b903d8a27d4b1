"""The composition root: wires configuration, database, clock, signer, renderer and transport once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from peewee import Database

from mailflow import config as config_module
from mailflow.clock import Clock, SystemClock
from mailflow.config import Config
from mailflow.db import connect, open_database, sqlite_path
from mailflow.errors import ConfigError
from mailflow.masking import masked
from mailflow.migrations import apply_migrations, available, missing
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


class SchemaMissing(ConfigError):
    """The database has no schema, or an older one, and this process may not make it (exit 78)."""


def open_runtime(config: Config, clock: Clock | None = None, migrate: bool = True,
                 transport: Transport | None = None, create: bool = True) -> Runtime:
    """Connect everything the configuration names; apply migrations unless told not to.

    `create=False` (a `serve --role` process) never creates the database nor changes its schema: a missing
    or older schema is a SchemaMissing error instead, naming the database and `mailflow init`.
    """
    if not create:
        _require_file(config)
    db = open_database(config.database.url, config.root, config.database.busy_timeout_seconds)
    connect(db, config.database.url)
    runtime = Runtime(config=config, db=db, clock=clock or SystemClock(), transport_override=transport)
    if not create:
        _require_schema(runtime)
    if migrate and create:
        apply_migrations(db, runtime.clock)
    if migrate:
        from mailflow.issuers import sync_issuers  # noqa: PLC0415 - needs the tables just made
        sync_issuers(config.issuers)
    return runtime


def _require_file(config: Config) -> None:
    """An SQLite file that is not there is not made (connecting would create an empty one)."""
    url = config.database.url
    if not url.startswith("sqlite:///"):
        return
    path = sqlite_path(url, config.root)
    if not path.exists() and _nearest(path).is_dir():  # below a file instead: unreachable, as connecting says
        raise _missing(url, "does not exist")


def _nearest(path: Path) -> Path:
    """`path` or its closest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _require_schema(runtime: Runtime) -> None:
    behind = missing(runtime.db)
    if behind:
        runtime.close()
        total = len(available())
        raise _missing(runtime.config.database.url, "has no mailflow schema" if len(behind) == total else
                       f"is behind its schema: {len(behind)} migration(s) not applied ({', '.join(behind[:3])})")


def _missing(url: str, why: str) -> SchemaMissing:
    return SchemaMissing(f"database {masked(url)} {why}: run `mailflow init` with this configuration first "
                         "(a process started with --role never creates or upgrades the database)",
                         field="[database] url")
