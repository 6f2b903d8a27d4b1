"""docs/deployment.md as written: its production configuration loads with mailflow's own loader and names only
keys mailflow has; Debian's Postfix, configured with the guide's main.cf and master.cf lines read from the guide
itself, takes mailflow's mail on the submission service and hands replies and bounces over both ways the guide
gives (SMTP door; pipe(8) running its `mailflow inbound deliver --config …` as the `mailflow` user)."""

from __future__ import annotations

import re
import shlex
import smtplib
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import is_dataclass
from email import message_from_bytes
from pathlib import Path
from typing import get_args, get_origin, get_type_hints

import pytest

from mailflow.accounts import Person
from mailflow.config import Config, load_config
from mailflow.errors import ConfigError
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage, Outbox
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.inbound import REPLY_DOMAIN, message
from tests.support.installation import GUIDE_COMMAND, GUIDE_STATE, PRODUCTION_CONFIG, USER, Installation
from tests.support.postfix import GUIDE, LOCAL_DOMAIN, PostfixInstance, usable

NOBODY = Person(f"nobody-here@{LOCAL_DOMAIN}", "Nobody", "Here", "fr")  # local(8) bounces mail to it
needs_postfix = pytest.mark.skipif(not usable(), reason="needs Debian's postfix (.ci/setup) and root to start it")
# What an installation must decide: the guide's configuration sets each of them explicitly.
NEEDED = ("[database] url", "[storage] pdf_dir", "[web] base_url", "[web] port", "[outbound] transport",
          "[outbound] smtp_host", "[outbound] smtp_port", "[outbound] from_address", "[outbound] reply_domain",
          "[inbound.smtp] port", "[inbound.smtp] domains", "[inbound.imap] enabled", "[inbound.imap] host",
          "[inbound.imap] username", "[inbound.imap] password", "[security] secret_key", "[dkim] key_dir")


def config_keys(node: type = Config, section: str = "") -> set[str]:
    """Every key mailflow's configuration has, as the guide writes them: `[section] key`."""
    found: set[str] = set()
    for name, kind in get_type_hints(node).items():
        table = _table(kind)
        if table is not None:
            found |= config_keys(table, f"{section}.{name}" if section else name)
        elif section:
            found.add(f"[{section}] {name}")
    return found


def _table(kind: object) -> type | None:
    """The dataclass of a section ([inbound.smtp]) or of an array of tables ([[issuers]]), else None."""
    args = get_args(kind)
    if get_origin(kind) is list and args and is_dataclass(args[0]):
        return args[0]
    return kind if is_dataclass(kind) else None


def toml_keys(table: dict, section: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in table.items():
        inner = f"{section}.{key}" if section else key
        if isinstance(value, dict):
            found |= toml_keys(value, inner)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            found |= set().union(*(toml_keys(v, inner) for v in value))
        else:
            found.add(f"[{section}] {key}")
    return found
OWN_SECRET = {"MAILFLOW_SECURITY_SECRET_KEY": "an-installation-s-own-key-made-as-the-guide-says"}


def test_the_production_config_loads_and_sets_what_an_installation_needs():
    with pytest.raises(ConfigError, match=r"\[security\] secret_key is the example's placeholder"):
        load_config(PRODUCTION_CONFIG, env={})  # copied as is, it must not start with a key everyone knows
    config = load_config(PRODUCTION_CONFIG, env=OWN_SECRET)
    written = toml_keys(tomllib.loads(PRODUCTION_CONFIG.read_text(encoding="utf-8")))
    assert [key for key in NEEDED if key not in written] == []
    assert config.database.url.startswith("postgresql://") and config.outbound.transport == "smtp"
    assert config.outbound.reply_domain in config.inbound.smtp.domains  # else replies get 550 5.1.2
    assert config.issuers and config.web.base_url.startswith("https://") and config.security.secret_key


def test_everything_mailflow_writes_is_under_the_units_read_write_path():
    config = load_config(PRODUCTION_CONFIG, env=OWN_SECRET)
    units = re.findall(r"^ReadWritePaths=(\S+)$", GUIDE.read_text(encoding="utf-8"), re.MULTILINE)
    assert units and set(units) == {GUIDE_STATE}
    for path in (config.storage.pdf_dir, config.dkim.key_dir):
        assert Path(path).is_absolute() and Path(path).is_relative_to(GUIDE_STATE), path


def test_every_key_the_guide_names_is_one_mailflow_has():
    text = GUIDE.read_text(encoding="utf-8")
    named = {f"[{section}] {key}" for section, key in re.findall(r"`\[{1,2}([a-z.]+)\]{1,2} ([a-z_]+)", text)}
    for block in re.findall(r"```toml\n(.*?)```", text, re.DOTALL):
        named |= toml_keys(tomllib.loads(block))
    assert len(named) > 20 and sorted(named - config_keys()) == []


def test_the_guide_runs_one_command_path_everywhere():
    """The units, the pipe and the install steps name the same installed command."""
    text = GUIDE.read_text(encoding="utf-8")
    commands = set(re.findall(r"(/opt/mailflow\S*/bin/mailflow)\b", text))
    assert commands == {GUIDE_COMMAND}
    assert "scripts/venv.sh" in text and "constraints.txt" in text


# Postfix, both ways


@pytest.fixture(scope="module")
def installation() -> Iterator[Installation]:
    if not usable():
        pytest.skip("needs Debian's postfix (.ci/setup) and root to start it")
    made = Installation()
    try:
        yield made.create()
    finally:
        made.remove()


@pytest.fixture
def database_url(tmp_path: Path, postgres, installation: Installation) -> str:
    """The test database where the pipe's `mailflow` user can write it too: PostgreSQL, or SQLite in the
    installation's /var/lib/mailflow (the guide's single-machine case)."""
    if postgres:
        return postgres.url
    return f"sqlite:///{installation.database_file(f'{tmp_path.name}.sqlite3')}"


@pytest.fixture
def installed(installation: Installation, rt) -> Installation:
    """/etc/mailflow/config.toml: the guide's production configuration on the test's database and secret."""
    installation.write_config({"[database] url": f'"{rt.config.database.url}"',
                               "[security] secret_key": f'"{rt.config.security.secret_key}"'})
    return installation


@pytest.fixture(scope="module")
def smtp_mx() -> Iterator[PostfixInstance]:
    instance = PostfixInstance(REPLY_DOMAIN).start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def pipe_mx(installation: Installation) -> Iterator[PostfixInstance]:
    instance = PostfixInstance(REPLY_DOMAIN, pipe_paths=installation.replacements()).start()
    yield instance
    instance.stop()


def sending_through(rt, mta: PostfixInstance):
    """mailflow handing its mail to the guide's submission service (mynetworks) of that Postfix."""
    rt.config.outbound.transport, rt.config.outbound.smtp_port = "smtp", mta.submission_port
    rt.__dict__.pop("transport", None)
    return rt


def wait_for_row(mta: PostfixInstance, recipient_prefix: str, seconds: float = 30.0) -> InboundMessage:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for row in InboundMessage.select().order_by(InboundMessage.id):
            if row.envelope_to.startswith(recipient_prefix):
                return row
        time.sleep(0.1)
    raise AssertionError(f"nothing for {recipient_prefix}… stored within {seconds} s:\n{mta.log_text()}")


def wait_for_log(mta: PostfixInstance, pattern: str, seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, mta.log_text())
        if found:
            return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in Postfix's log within {seconds} s:\n{mta.log_text()}")


def notice_to_nobody(rt, mta: PostfixInstance):
    factories.customer(rt, "DL2123456", NOBODY)
    factories.document(rt)
    assert DeliveryWorker(sending_through(rt, mta)).flush().sent == 1, (Outbox.get().last_response, mta.log_text())
    return message_from_bytes(bytes(Outbox.get(Outbox.recipient == NOBODY.email).raw))


def send_to_mx(mta: PostfixInstance, raw: bytes, sender: str, recipient: str) -> None:
    with smtplib.SMTP("127.0.0.1", mta.port, timeout=30) as client:
        client.sendmail(sender, [recipient], raw)


@needs_postfix
def test_postfix_hands_a_reply_to_the_smtp_door(rt, smtp_mx):
    notice = notice_to_nobody(rt, smtp_mx)  # taken by the submission service
    door = InboundSmtpServer(rt, host="127.0.0.1", port=smtp_mx.door_port).start()
    try:
        reply = message(NOBODY.email, notice["Reply-To"], "Re: " + notice["Subject"], "DUPLICATA F2026-0042")
        send_to_mx(smtp_mx, reply, NOBODY.email, notice["Reply-To"])
        row = wait_for_row(smtp_mx, "reply+")
    finally:
        door.stop()
    assert (row.door, row.envelope_from, row.envelope_to, row.client_ip) == (
        "smtp", NOBODY.email, notice["Reply-To"], "127.0.0.1")
    InboundWorker(rt).flush()
    assert InboundMessage.get_by_id(row.id).kind == "command"


@needs_postfix
def test_postfix_pipes_a_bounce_into_mailflow_inbound_deliver(rt, installed, pipe_mx):
    notice_to_nobody(rt, pipe_mx)  # local(8) bounces it; the DSN goes to the reply domain, so to the pipe
    dsn = wait_for_row(pipe_mx, "bounces+")
    assert (dsn.door, dsn.envelope_from) == ("pipe", "")  # null_sender=: a bounce's <> stays empty
    wait_for_log(pipe_mx, r"status=sent \(delivered via mailflow service")  # exit 0
    InboundWorker(rt).flush()
    notice = Outbox.get(Outbox.recipient == NOBODY.email)
    assert (InboundMessage.get_by_id(dsn.id).kind, InboundMessage.get_by_id(dsn.id).outbox_id) == ("bounce", notice.id)
    assert notice.bounced_at is not None and "5.1.1" in notice.last_response


@needs_postfix
def test_the_pipe_defers_while_the_database_is_away_and_stores_once_it_is_back(rt, installed, pipe_mx):
    installed.write_config({"[database] url": '"postgresql://mailflow@127.0.0.1:1/mailflow"',
                            "[security] secret_key": f'"{rt.config.security.secret_key}"'})
    raw = message(factories.MARIE.email, f"reply+away@{REPLY_DOMAIN}", body="Bonjour")
    send_to_mx(pipe_mx, raw, factories.MARIE.email, f"reply+away@{REPLY_DOMAIN}")
    wait_for_log(pipe_mx, r"status=deferred \(temporary failure\. Command output: .*message not stored")  # 75
    assert InboundMessage.select().count() == 0 and f"reply+away@{REPLY_DOMAIN}" in pipe_mx.queue_listing()
    installed.write_config({"[database] url": f'"{rt.config.database.url}"',
                            "[security] secret_key": f'"{rt.config.security.secret_key}"'})
    pipe_mx.queue_flush()
    row = wait_for_row(pipe_mx, "reply+away@")
    assert (row.door, row.envelope_from, row.message_id) == (
        "pipe", factories.MARIE.email, message_from_bytes(raw)["Message-ID"])


def guide_commands_as_mailflow(installation: Installation) -> list[list[str]]:
    """The Configuration section's `runuser -u mailflow -- …` lines, on this installation's paths."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):text.index("## systemd")]
    lines = [line for line in section.splitlines() if line.startswith(f"runuser -u {USER} -- ")]
    for guide_path, here in installation.replacements().items():
        lines = [line.replace(guide_path, here) for line in lines]
    return [shlex.split(line) for line in lines]


@needs_postfix
def test_init_and_dns_run_as_the_mailflow_user_as_written(rt, installed):
    init, dns = guide_commands_as_mailflow(installed)
    assert init[-1] == "init" and dns[-1] == "dns"
    for command in (init, dns):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)
    keys = installed.state / "dkim"
    assert keys.owner() == USER and keys.stat().st_mode & 0o777 == 0o700  # made in /var/lib/mailflow, its own
    made = list(keys.glob("lease.example.*.pem"))
    assert made and all(key.owner() == USER and key.stat().st_mode & 0o777 == 0o600 for key in made)
    assert "_domainkey.lease.example" in done.stdout and "mx.lease.example" in done.stdout
