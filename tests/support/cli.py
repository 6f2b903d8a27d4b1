"""The `mailflow` command run in the test's own process, as click's runner does it."""

from __future__ import annotations

from click.testing import CliRunner, Result

from mailflow.cli import cli
from mailflow.db import database
from mailflow.runtime import Runtime


def invoke(rt: Runtime | None, args: list[str], env: dict[str, str], **options: object) -> Result:
    """Run one command; afterwards the models talk to the test's runtime again.

    The command opens its own runtime, which binds the process-wide database proxy to its connection:
    left so, the test's next write would go through that connection while `rt.db.atomic()` holds the
    write lock on the test's own, and wait for itself.
    """
    try:
        return CliRunner().invoke(cli, args, env=env, **options)
    finally:
        if rt is not None:
            database.initialize(rt.db)
