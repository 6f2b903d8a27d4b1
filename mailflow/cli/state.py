"""What CLI commands share: the configuration path and a runtime opened on first use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import click
from peewee import InterfaceError, OperationalError

from mailflow import log_format
from mailflow.config import Config, load_config
from mailflow.masking import masked
from mailflow.runtime import Runtime, open_runtime

log = logging.getLogger(__name__)


@dataclass
class CliState:
    config_path: str | None
    verbose: bool = False
    _config: Config | None = field(default=None, init=False)
    _runtime: Runtime | None = field(default=None, init=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            log_format.configure(self._config.logging.format, self._config.logging.level, self.verbose)
        return self._config

    def runtime(self, create: bool = True) -> Runtime:
        """The runtime; `create=False`: the database and its schema must exist already (see open_runtime)."""
        if self._runtime is None:
            config = self.config()
            log.info("%s; database %s", config_named(config), masked(config.database.url),
                     extra={"event": "config", "config": str(config.source or ""),
                            "database": masked(config.database.url)})
            self._runtime = open_runtime(config, create=create)
        return self._runtime

    def database_url(self) -> str | None:
        """The configured database URL once the configuration was read, for error messages."""
        return self._config.database.url if self._config else None

    def close(self) -> None:
        try:
            if self._runtime is not None:
                self._runtime.close()
        except (OperationalError, InterfaceError) as exc:  # the command's outcome is already decided
            log.warning("closing the database connection failed: %s", exc)


def config_named(config: Config) -> str:
    """Which configuration is in force, as the start-up line says it."""
    return f"config {config.source}" if config.source else "no config file: defaults and environment"


def runtime(create: bool = True) -> Runtime:
    return click.get_current_context().find_object(CliState).runtime(create)
