"""A private Debian Postfix on loopback high ports, with its own configuration, queue and log in a temporary
folder: the relay mailflow delivers to and the MX of the reply domain. It is configured with the very settings
docs/deployment.md gives the operator (read from that file: main.cf, the submission service, and for the pipe
variant its master.cf line and transport), plus what makes it a throw-away test instance."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTFIX = "/usr/sbin/postfix"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
GUIDE_MARK = "# /etc/postfix/main.cf: mailflow's settings"
PIPE_MAIN_MARK = "# /etc/postfix/main.cf: the pipe instead of the SMTP handoff"
PIPE_MASTER_MARK = "# /etc/postfix/master.cf: mailflow's pipe"
SUBMISSION_MARK = "# /etc/postfix/master.cf: submission for mailflow (mynetworks)"
LOCAL_DOMAIN = "local.test.example"  # delivered by local(8): an unknown user there bounces with a DSN


def guide_block(mark: str) -> list[str]:
    """The lines of the guide's code block that starts with `mark`, without it."""
    text = GUIDE.read_text(encoding="utf-8")
    return text[text.index(mark):].split("```", 1)[0].splitlines()[1:]


def _settings(lines: list[str]) -> dict[str, str]:
    pairs = (line.partition("=") for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, _, value in pairs}


def guide_settings(reply_domain: str, door_port: int, pipe: bool = False) -> dict[str, str]:
    """The main.cf settings of the deployment guide, its example names replaced by the test's; with `pipe`,
    its transport to the pipe instead of the SMTP handoff."""
    settings = _settings(guide_block(GUIDE_MARK)) | (_settings(guide_block(PIPE_MAIN_MARK)) if pipe else {})
    return {key: value.replace("reply.lease.example", reply_domain).replace(":8026", f":{door_port}")
            for key, value in settings.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostfixInstance:
    """Started with `postfix -c <folder>/etc start` (master must run as root; its daemons drop to `postfix`)."""

    def __init__(self, reply_domain: str, pipe_paths: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailflow-postfix-"))
        self.port = free_port()  # smtpd (the MX's port 25): mail for the reply domain, and mailflow's mail too
        self.submission_port = free_port()  # the guide's submission service for mailflow (587)
        self.door_port = free_port()  # where this Postfix hands the reply domain's mail to mailflow's SMTP door
        self.reply_domain = reply_domain
        # the pipe variant: the guide's paths (command, config file) and where they are here; None: SMTP handoff
        self.pipe_paths = pipe_paths

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log" / "postfix.log"

    def start(self) -> "PostfixInstance":
        for name in ("etc", "spool", "data", "log"):
            (self.root / name).mkdir()
        shutil.chown(self.root / "data", "postfix")
        self.root.chmod(0o755)  # the daemons run as postfix and must reach their queue
        (self.etc / "main.cf").write_text(self._main_cf())
        (self.etc / "master.cf").write_text(self._master_cf())
        self._postfix("start")
        self._wait_listening()
        return self

    def stop(self) -> None:
        self._postfix("stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _postfix(self, command: str, check: bool = True) -> None:
        done = subprocess.run([POSTFIX, "-c", str(self.etc), command], capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {done.stderr}\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def queue_flush(self) -> None:
        """`postqueue -f`: deferred mail is tried again now."""
        self._postqueue("-f")

    def queue_listing(self) -> str:
        """`postqueue -p` (mailq): what waits in the queue, and why."""
        return self._postqueue("-p")

    def _postqueue(self, option: str) -> str:
        done = subprocess.run(["/usr/sbin/postqueue", "-c", str(self.etc), option], check=True, capture_output=True,
                              text=True, timeout=30)
        return done.stdout

    def _main_cf(self) -> str:
        settings = guide_settings(self.reply_domain, self.door_port, self.pipe_paths is not None) | self._instance()
        return "".join(f"{key} = {value}\n" for key, value in settings.items())

    def _instance(self) -> dict[str, str]:
        """What makes it a private, quick, loopback-only instance rather than the machine's mail system."""
        root = str(self.root)
        return {"compatibility_level": "3.6", "config_directory": str(self.etc), "queue_directory": f"{root}/spool",
                "data_directory": f"{root}/data", "maillog_file": str(self.log), "maillog_file_prefixes": root,
                "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4", "myhostname": "mx.test.example",
                "mydestination": LOCAL_DOMAIN, "local_recipient_maps": "", "alias_maps": "", "alias_database": "",
                "smtp_dns_support_level": "disabled", "queue_run_delay": "1s", "minimal_backoff_time": "1s",
                "maximal_backoff_time": "2s", "biff": "no", "import_environment": "MAIL_CONFIG TZ"}

    def _master_cf(self) -> str:
        """Debian's master.cf and the guide's services, nothing chrooted (no copy of /etc needed), smtpd and
        submission on our loopback ports."""
        ours = {"smtp": f"127.0.0.1:{self.port}", "submission": f"127.0.0.1:{self.submission_port}"}
        lines = []
        for line in Path("/etc/postfix/master.cf").read_text().splitlines() + self._guide_services():
            fields = line.split()
            if re.match(r"^[a-z]", line) and len(fields) >= 8:
                if fields[1] == "inet" and fields[0] in ours:
                    fields[0] = ours[fields[0]]
                fields[4] = "n"
                line = " ".join(fields)
            lines.append(line)
        return "\n".join(lines) + "\n"

    def _guide_services(self) -> list[str]:
        """The guide's master.cf entries: submission for mailflow, and the pipe into it in that variant."""
        lines = [line for line in guide_block(SUBMISSION_MARK) if not line.startswith("#")]
        if self.pipe_paths is not None:
            text = "\n".join(line for line in guide_block(PIPE_MASTER_MARK) if not line.startswith("#"))
            for guide_path, here in self.pipe_paths.items():
                text = text.replace(guide_path, here)
            lines += text.splitlines()
        return lines

    def _wait_listening(self, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"postfix did not listen on {self.port}:\n{self.log_text()}")


def usable() -> bool:
    return os.path.exists(POSTFIX) and os.geteuid() == 0
