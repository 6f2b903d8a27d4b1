"""Configuration: config.toml, then MAILFLOW_<SECTION>_<KEY> environment overrides, validated."""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailflow.errors import ConfigError
from mailflow.masking import remember_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"


@dataclass
class DatabaseConfig:
    url: str = "sqlite:///db/mailflow.sqlite3"
    busy_timeout_seconds: float = 15.0
    change_check_seconds: float = 0.05


@dataclass
class StorageConfig:
    pdf_dir: str = "db/pdfs"


@dataclass
class WebConfig:
    base_url: str = "http://127.0.0.1:8025"
    host: str = "127.0.0.1"
    port: int = 8025
    session_hours: int = 12
    trusted_proxies: list[str] = field(default_factory=list)


@dataclass
class OutboundConfig:
    transport: str = "maildir"
    maildir: str = "db/maildir"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    from_address: str = "documents@mailflow.example"
    from_name: str = "mailflow"
    reply_domain: str = "reply.mailflow.example"
    batch_size: int = 100
    lease_seconds: int = 15  # renewed every third of it while the worker lives: a dead one's rows wait this long
    retry_initial_seconds: int = 60
    retry_max_seconds: int = 3600
    give_up_hours: int = 72
    poll_seconds: float = 2.0


@dataclass
class SmtpInboundConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8026
    domains: list[str] = field(default_factory=lambda: ["reply.mailflow.example"])
    max_message_bytes: int = 26_214_400
    max_sessions: int = 200
    max_concurrent_data: int = 50
    max_recipients: int = 50
    spool_bytes: int = 1_048_576
    commit_timeout_seconds: float = 20.0
    listen_backlog: int = 1024


@dataclass
class ImapInboundConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    ssl: bool = True
    username: str = ""
    password: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    # Well under the 29 minutes servers allow, and under the liveness alert (2 x this + 120 s).
    idle_renew_seconds: int = 240


@dataclass
class InboundConfig:
    smtp: SmtpInboundConfig = field(default_factory=SmtpInboundConfig)
    imap: ImapInboundConfig = field(default_factory=ImapInboundConfig)
    answers_per_day: int = 10
    unsigned_answers_per_day: int = 3
    poll_seconds: float = 2.0
    lease_seconds: int = 15  # renewed every third of it while the worker lives, as the outbox's
    # Authentication-Results are believed only from this authserv-id (the MTA in front); empty: from none
    authserv_id: str = ""
    dmarc: str = "enforce"  # off | report | enforce: commands with effects need a DMARC pass where required


@dataclass
class DkimKeyConfig:
    """A key given by path instead of generated: the operator rotates it by changing this entry."""

    domain: str = ""
    selector: str = ""
    path: str = ""


@dataclass
class DkimConfig:
    enabled: bool = True
    key_dir: str = "db/dkim"
    keys: list[DkimKeyConfig] = field(default_factory=list)
    retire_days: int = 7


@dataclass
class DnsConfig:
    nameservers: list[str] = field(default_factory=list)
    timeout_seconds: float = 5.0
    spf_ips: list[str] = field(default_factory=list)
    spf_includes: list[str] = field(default_factory=list)
    dmarc_rua: str = ""
    dmarc_policy: str = "none"
    reply_mx: str = ""


@dataclass
class SecurityConfig:
    secret_key: str = ""
    reply_token_days: int = 90
    invitation_days: int = 14
    login_link_minutes: int = 30
    address_change_hours: int = 48
    address_undo_days: int = 7


@dataclass
class LimitsConfig:
    duplicates_per_document_per_day: int = 3
    login_links_per_address_per_hour: int = 20
    login_links_per_address_per_client_per_hour: int = 5
    login_requests_per_ip_per_hour: int = 30
    activation_attempts_per_hour: int = 10
    share_invitations_per_day: int = 20
    address_changes_per_day: int = 5
    signups_per_ip_per_hour: int = 10


@dataclass
class SchedulerConfig:
    timezone: str = "Europe/Brussels"
    digest_hour: int = 7
    weekly_day: str = "mon"
    deliver: bool = False  # delivery is the worker role's job; true only where no worker process runs


@dataclass
class RetentionConfig:
    years: int = 7
    raw_mail_days: int = 90


@dataclass
class BouncesConfig:
    score_threshold: float = 3.0
    stale_days: int = 14


@dataclass
class LoggingConfig:
    format: str = "text"  # text | json (one JSON object a line)
    level: str = "info"  # debug | info | warning | error


@dataclass
class IssuerConfig:
    prefix: str = ""
    name: str = ""
    api_key: str = ""
    from_address: str = ""  # empty: [outbound] from_address
    from_name: str = ""  # empty: the issuer's name
    support_address: str = ""  # empty: the From address
    colour: str = ""  # CSS hex colour of the issuer's mails and pages; empty: mailflow's own
    logo: str = ""  # path of a PNG or SVG logo (relative to this file's folder); empty: the name in text
    footer: str = ""  # a line under every mail (company details); empty: none


@dataclass
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    web: WebConfig = field(default_factory=WebConfig)
    outbound: OutboundConfig = field(default_factory=OutboundConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    bounces: BouncesConfig = field(default_factory=BouncesConfig)
    dkim: DkimConfig = field(default_factory=DkimConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    issuers: list[IssuerConfig] = field(default_factory=list)
    root: Path = PROJECT_ROOT
    source: Path | None = None  # the file read; None: defaults and environment only

    def path(self, value: str) -> Path:
        """A configured path; relative ones are relative to the config file's folder."""
        candidate = Path(value)
        return candidate if candidate.is_absolute() else self.root / candidate


def load_config(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    source = Path(path or env.get("MAILFLOW_CONFIG") or DEFAULT_CONFIG)
    data = _read_toml(source)
    config = _build(Config, data, "")
    config.root = source.resolve().parent
    config.source = source.resolve()
    _apply_env(config, env)
    remember_config(config)  # before validating: an error message may quote a value
    validate(config)
    return config


def _read_toml(source: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {source}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{prefix or 'root'}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)} - {"root", "source"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown key {_name(prefix, sorted(unknown)[0])}")
    values = {name: _convert(hints[name], data[name], _name(prefix, name)) for name in data}
    return cls(**values)


def _convert(kind: Any, value: Any, key: str) -> Any:
    if is_dataclass(kind):
        return _build(kind, value, _section(key))
    table = _table_of(kind)
    if table is not None:
        name = _section(key)
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be an array of tables ([[{name}]])")
        return [_build(table, item, name) for item in value]
    return _scalar(kind, value, key)


def _table_of(kind: Any) -> type | None:
    """The dataclass of an array of tables (`list[IssuerConfig]`: [[issuers]]), else None."""
    args = get_args(kind)
    return args[0] if get_origin(kind) is list and args and is_dataclass(args[0]) else None


def _section(key: str) -> str:
    # "[inbound] smtp" names the nested table "inbound.smtp"
    section, _, name = key.strip("[").partition("] ")
    return f"{section}.{name}" if name else section


def _scalar(kind: Any, value: Any, key: str) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if kind == list[str] and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ConfigError(f"{key} must be {_type_name(kind)}, got {value!r}")


def _type_name(kind: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        kind, "a list of strings")


def _name(prefix: str, key: str) -> str:
    return f"[{prefix}] {key}" if prefix else key


# Variables of mailflow's own that name no key: the configuration file, and the test suite's database.
NOT_KEYS = frozenset({"MAILFLOW_CONFIG", "MAILFLOW_TEST_DATABASE_URL"})


def _apply_env(config: Config, env: dict[str, str]) -> None:
    known = set(NOT_KEYS)
    for section, target in _sections(config):
        for f in fields(target):
            var = f"MAILFLOW_{section.replace('.', '_')}_{f.name}".upper()
            known.add(var)
            if var in env and not is_dataclass(getattr(target, f.name)):
                kind = get_type_hints(type(target))[f.name]
                setattr(target, f.name, _from_env(kind, env[var], var))
    unknown = sorted(var for var in env if var.startswith("MAILFLOW_") and var not in known)
    if unknown:  # a misspelled override silently ignored would run with the value it meant to change
        raise ConfigError(f"environment variable {unknown[0]} names no configuration key "
                          "(MAILFLOW_<SECTION>_<KEY>, e.g. MAILFLOW_OUTBOUND_BATCH_SIZE)", field=unknown[0])


def _sections(config: Config) -> list[tuple[str, Any]]:
    found = []
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            found.append((f.name, value))
            found += [(f"{f.name}.{g.name}", getattr(value, g.name))
                      for g in fields(value) if is_dataclass(getattr(value, g.name))]
    return found


def _from_env(kind: Any, raw: str, var: str) -> Any:
    if _table_of(kind) is not None:
        raise ConfigError(f"environment variable {var}: an array of tables is set in the configuration file only")
    try:
        if kind is bool:
            return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[raw.lower()]
        if kind == list[str]:
            return [part.strip() for part in raw.split(",") if part.strip()]
        return kind(raw)
    except (KeyError, ValueError):
        raise ConfigError(f"environment variable {var} must be {_type_name(kind)}, got {raw!r}") from None


PLACEHOLDER_SECRET = "change-me"


def validate(config: Config) -> None:
    _check(config.database.url.startswith(("sqlite:///", "postgresql://", "postgres://")),
           "[database] url", "must start with sqlite:/// or postgresql://")
    _check(config.outbound.transport in ("maildir", "smtp"), "[outbound] transport", "must be maildir or smtp")
    _check(config.web.base_url.startswith(("http://", "https://")), "[web] base_url", "must be an http(s) URL")
    # the production example's placeholder: signing tokens with a published key would let anyone forge them
    _check(config.security.secret_key != PLACEHOLDER_SECRET, "[security] secret_key",
           "is the example's placeholder; make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    _check("@" in config.outbound.from_address, "[outbound] from_address", "must be an email address")
    _check(bool(config.outbound.reply_domain) and "@" not in config.outbound.reply_domain,
           "[outbound] reply_domain", "must be a domain name")
    _check(0 <= config.scheduler.digest_hour <= 23, "[scheduler] digest_hour", "must be 0..23")
    _check(config.scheduler.weekly_day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
           "[scheduler] weekly_day", "must be mon, tue, wed, thu, fri, sat or sun")
    _check(_is_zone(config.scheduler.timezone), "[scheduler] timezone", "must be an IANA time zone")
    _check(config.retention.years >= 1, "[retention] years", "must be at least 1")
    _check(config.outbound.batch_size >= 1, "[outbound] batch_size", "must be at least 1")
    _check(config.database.busy_timeout_seconds > 0, "[database] busy_timeout_seconds", "must be positive")
    _check(config.database.change_check_seconds > 0, "[database] change_check_seconds", "must be positive")
    _validate_smtp_caps(config.inbound.smtp)
    for port_key, port in (("[web] port", config.web.port), ("[outbound] smtp_port", config.outbound.smtp_port),
                           ("[inbound.smtp] port", config.inbound.smtp.port),
                           ("[inbound.imap] port", config.inbound.imap.port)):
        _check(0 <= port <= 65535, port_key, "must be a TCP port (0..65535)")
    _check(1 <= config.inbound.imap.idle_renew_seconds <= 1740, "[inbound.imap] idle_renew_seconds",
           "must be 1..1740 (servers may drop IDLE after 29 minutes)")
    _validate_issuers(config.issuers)
    _validate_authentication(config)
    _validate_leases(config)
    _check(config.logging.format in ("text", "json"), "[logging] format", "must be text or json")
    _check(config.logging.level in ("debug", "info", "warning", "error"), "[logging] level",
           "must be debug, info, warning or error")


def _validate_leases(config: Config) -> None:
    for key, seconds in (("[outbound] lease_seconds", config.outbound.lease_seconds),
                         ("[inbound] lease_seconds", config.inbound.lease_seconds)):
        _check(seconds >= 1, key, "must be at least 1 (seconds; renewed every third of it)")


def _validate_authentication(config: Config) -> None:
    _check(config.inbound.dmarc in ("off", "report", "enforce"), "[inbound] dmarc", "must be off, report or enforce")
    _check(config.dns.dmarc_policy in ("none", "quarantine", "reject"), "[dns] dmarc_policy",
           "must be none, quarantine or reject")
    _check(config.dns.timeout_seconds > 0, "[dns] timeout_seconds", "must be positive")
    _check(config.dkim.retire_days >= 0, "[dkim] retire_days", "must be 0 or more")
    for key in config.dkim.keys:
        _check(bool(key.domain and key.selector and key.path), "[[dkim.keys]]", "needs domain, selector and path")


def _validate_smtp_caps(smtp: SmtpInboundConfig) -> None:
    for key in ("max_sessions", "max_concurrent_data", "max_recipients", "spool_bytes", "listen_backlog"):
        _check(getattr(smtp, key) >= 1, f"[inbound.smtp] {key}", "must be at least 1")
    _check(smtp.commit_timeout_seconds > 0, "[inbound.smtp] commit_timeout_seconds", "must be positive")


def _validate_issuers(issuers: list[IssuerConfig]) -> None:
    _check(bool(issuers), "[[issuers]]", "at least one issuer must be configured")
    seen: set[str] = set()
    for issuer in issuers:
        _check(issuer.prefix.isalnum() and issuer.prefix.isupper() or issuer.prefix.isdigit(),
               "[[issuers]] prefix", f"must be upper-case letters and digits, got {issuer.prefix!r}")
        _check(bool(issuer.name), "[[issuers]] name", f"is empty for prefix {issuer.prefix}")
        _check(issuer.prefix not in seen, "[[issuers]] prefix", f"{issuer.prefix} is configured twice")
        _check(_is_address_or_empty(issuer.from_address), "[[issuers]] from_address",
               f"must be an email address for prefix {issuer.prefix}")
        _check(_is_address_or_empty(issuer.support_address), "[[issuers]] support_address",
               f"must be an email address for prefix {issuer.prefix}")
        _check(not issuer.colour or re.fullmatch(r"#[0-9a-fA-F]{6}", issuer.colour) is not None,
               "[[issuers]] colour", f"must be #rrggbb for prefix {issuer.prefix}")
        seen.add(issuer.prefix)


def _is_address_or_empty(value: str) -> bool:
    return not value or re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise ConfigError(f"{key} {problem}", field=key)


def secret_key(config: Config) -> bytes:
    """The configured key, or one generated once and kept beside the embedded database."""
    if config.security.secret_key:
        return config.security.secret_key.encode()
    keyfile = config.path("db/secret.key")
    if not keyfile.exists():
        keyfile.parent.mkdir(parents=True, exist_ok=True)
        keyfile.write_text(secrets.token_urlsafe(48))
        keyfile.chmod(0o600)
    return keyfile.read_text().strip().encode()
