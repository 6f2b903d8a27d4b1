"""Running mailflow as separate processes against the test database, as a deployment would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]


def mailflow_env(config, **overrides: object) -> dict[str, str]:
    """Environment that points a child process at the same database, storage and secret as the test."""
    env = dict(os.environ)
    env.update({
        "MAILFLOW_DATABASE_URL": config.database.url,
        "MAILFLOW_STORAGE_PDF_DIR": str(config.path(config.storage.pdf_dir)),
        "MAILFLOW_OUTBOUND_MAILDIR": str(config.path(config.outbound.maildir)),
        "MAILFLOW_SECURITY_SECRET_KEY": config.security.secret_key,
        "MAILFLOW_WEB_BASE_URL": config.web.base_url,
        "MAILFLOW_DNS_NAMESERVERS": ",".join(config.dns.nameservers),
        "MAILFLOW_DKIM_KEY_DIR": str(config.path(config.dkim.key_dir)),
    })
    env.update({f"MAILFLOW_{key.upper()}": str(value) for key, value in overrides.items()})
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "mailflow", *args], env=env, cwd=ROOT, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_for(condition: Callable[[], bool], seconds: float, what: str,
             processes: tuple[subprocess.Popen, ...] = ()) -> None:
    """Poll `condition`; fail at once when a process that should be working has died."""
    deadline = time.monotonic() + seconds
    while not condition():
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            raise AssertionError(f"{what}: process {dead[0].args} exited with {dead[0].returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
