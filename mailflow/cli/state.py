"""What CLI commands share: the configuration path and a runtime opened on first use."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from mailflow.config import load_config
from mailflow.runtime import Runtime, open_runtime


@dataclass
class CliState:
    config_path: str | None
    _runtime: Runtime | None = field(default=None, init=False)

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = open_runtime(load_config(self.config_path))
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def runtime() -> Runtime:
    return click.get_current_context().find_object(CliState).runtime()
