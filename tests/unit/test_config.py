"""Configuration: the shipped file loads, environment overrides apply, wrong values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow.config import DEFAULT_CONFIG, load_config
from mailflow.errors import ConfigError


def test_shipped_config_loads_with_every_key_commented():
    config = load_config(env={})
    assert config.database.url == "sqlite:///db/mailflow.sqlite3" and config.outbound.transport == "maildir"
    assert [i.prefix for i in config.issuers] == ["DL2", "DL5"]
    lines = [line.strip() for line in DEFAULT_CONFIG.read_text().splitlines()]
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = index - 1
            while above > 0 and ("=" in lines[above] or lines[above] == "[[issuers]]") and not lines[above].startswith("#"):
                above -= 1
            assert lines[above].startswith("#"), f"key without a comment above its group: {line}"


def test_environment_overrides_single_keys_including_nested_sections():
    config = load_config(env={"MAILFLOW_DATABASE_URL": "postgresql://u@h/db", "MAILFLOW_INBOUND_SMTP_PORT": "2525",
                              "MAILFLOW_INBOUND_SMTP_DOMAINS": "a.example, b.example",
                              "MAILFLOW_OUTBOUND_SMTP_STARTTLS": "yes"})
    assert config.database.url == "postgresql://u@h/db" and config.inbound.smtp.port == 2525
    assert config.inbound.smtp.domains == ["a.example", "b.example"] and config.outbound.smtp_starttls is True


@pytest.mark.parametrize(("text", "message"), [
    ('[outbound]\ntransport = "fax"\n', "[outbound] transport must be maildir or smtp"),
    ('[web]\nport = "80"\n', "[web] port must be an integer"),
    ('[web]\ncolour = "blue"\n', "unknown key [web] colour"),
    ('[inbound.smtp]\nport = 99999\n', "[inbound.smtp] port must be a TCP port"),
    ('[scheduler]\ntimezone = "Mars/Olympus"\n', "[scheduler] timezone must be an IANA time zone"),
    ("[inbound.imap]\nidle_renew_seconds = 1800\n", "[inbound.imap] idle_renew_seconds must be 1..1740"),
    ("[outbound]\nlease_seconds = 0\n", "[outbound] lease_seconds must be at least 1"),
    ("[inbound]\nlease_seconds = -5\n", "[inbound] lease_seconds must be at least 1"),
    ('[scheduler]\ndeliver = "sometimes"\n', "[scheduler] deliver must be"),
    ('[security]\nsecret_key = "change-me"\n', "[security] secret_key is the example's placeholder"),
    ("[database\n", "not valid TOML"),
])
def test_wrong_values_name_the_key(tmp_path: Path, text: str, message: str):
    path = tmp_path / "config.toml"
    path.write_text(text + '[[issuers]]\nprefix = "DL2"\nname = "Lease Services"\n')
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, env={})


def test_missing_file_and_missing_issuers(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="at least one issuer"):
        load_config(empty, env={})


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[[issuers]]\nprefix = "DL2"\nname = "Lease Services"\n')
    config = load_config(path, env={})
    assert config.path(config.storage.pdf_dir) == tmp_path / "db" / "pdfs"
