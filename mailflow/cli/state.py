"""What CLI commands share: the configuration path and a runtime opened on first use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import click
from peewee import InterfaceError, OperationalError

from mailflow.config import Config, load_config
from mailflow.runtime import Runtime, open_runtime

log = logging.getLogger(__name__)


@dataclass
class CliState:
    config_path: str | None
    _config: Config | None = field(default=None, init=False)
    _runtime: Runtime | None = field(default=None, init=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = open_runtime(self.config())
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


def runtime() -> Runtime:
    return click.get_current_context().find_object(CliState).runtime()
