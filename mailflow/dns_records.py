"""The DNS records mail in mailflow's name needs (DKIM, SPF, DMARC, MX), as zone-file lines, and a check of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mailflow.config import Config
from mailflow.outbound.dkim import KeyStore, Selector, public_record, signing_domains
from mailflow.resolver import DnsTempError, Resolver

MAX_STRING = 255  # RFC 1035 3.3: one character-string; longer TXT values are several, read back joined


@dataclass(frozen=True)
class Record:
    name: str
    rdtype: str  # TXT | MX
    value: str
    why: str

    def zone_line(self) -> str:
        data = self.value if self.rdtype != "TXT" else " ".join(f'"{part}"' for part in split(self.value))
        return f"{self.name}. IN {self.rdtype} {data}"


def split(value: str) -> list[str]:
    return [value[i:i + MAX_STRING] for i in range(0, len(value), MAX_STRING)] or [""]


def expected(config: Config, now: datetime) -> tuple[list[Record], list[str]]:
    """Every record to publish, and what could not be written (a key or a setting missing)."""
    notes: list[str] = []
    records = [*_dkim(config, now, notes), *_spf(config, notes), *_dmarc(config), *_mx(config, notes)]
    return records, notes


def _dkim(config: Config, now: datetime, notes: list[str]) -> list[Record]:
    store = KeyStore(config)
    needed = store.needed(now)
    notes += [f"{d}: no DKIM key yet (run `mailflow init`)" for d in signing_domains(config)
              if not any(s.domain == d for s in needed)]
    return [Record(s.name, "TXT", public_record(Path(s.path).read_bytes()), _dkim_why(s)) for s in needed]


def _dkim_why(selector: Selector) -> str:
    return {"pending": "DKIM, new key: publish now, it signs after `mailflow dkim rotate` confirms it is seen",
            "active": "DKIM, the key signing now",
            "retiring": f"DKIM, the previous key, kept for mail it signed (retired {selector.retired_at})"
            }[selector.status]


def spf_value(config: Config) -> str | None:
    terms = [*(f"ip6:{ip}" if ":" in ip else f"ip4:{ip}" for ip in config.dns.spf_ips),
             *(f"include:{name}" for name in config.dns.spf_includes)]
    return f"v=spf1 {' '.join(terms)} -all" if terms else None


def _spf(config: Config, notes: list[str]) -> list[Record]:
    value = spf_value(config)
    if value is None:
        notes.append("no SPF record: set [dns] spf_ips (the relay's addresses) or spf_includes")
        return []
    # The envelope sender is bounces+…@reply_domain: SPF is checked on that domain, which aligns (relaxed) with
    # From domains under the same organizational domain.
    return [Record(config.outbound.reply_domain, "TXT", value, "SPF of the envelope sender (bounce address)")]


def dmarc_value(config: Config) -> str:
    rua = f"; rua=mailto:{config.dns.dmarc_rua}" if config.dns.dmarc_rua else ""
    return f"v=DMARC1; p={config.dns.dmarc_policy}{rua}; adkim=r; aspf=r"


def _dmarc(config: Config) -> list[Record]:
    why = "DMARC: start at p=none, read the reports, then quarantine and reject"
    return [Record(f"_dmarc.{domain}", "TXT", dmarc_value(config), why) for domain in signing_domains(config)]


def _mx(config: Config, notes: list[str]) -> list[Record]:
    if not config.dns.reply_mx:
        notes.append("no MX record: set [dns] reply_mx (the host receiving mail for the reply domain)")
        return []
    host = config.dns.reply_mx.rstrip(".")
    return [Record(config.outbound.reply_domain, "MX", f"10 {host}.", "replies and bounces come back here")]


def zone(records: list[Record], notes: list[str]) -> str:
    lines = [line for r in records for line in (f"; {r.why}", r.zone_line())]
    return "\n".join([*lines, *(f"; note: {n}" for n in notes)]) + "\n"


# --- checking what is published -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    record: Record
    state: str  # ok | missing | differs | unknown
    found: list[str]

    def line(self) -> str:
        head = f"{self.state:8} {self.record.name} {self.record.rdtype}"
        if self.state == "ok":
            return head
        if self.state == "unknown":
            return f"{head}: no answer from DNS ({self.found[0]})"
        shown = "; ".join(self.found) or "nothing"
        return f"{head}: found {shown}\n         expected {self.record.value}"


def check(records: list[Record], resolver: Resolver) -> list[Finding]:
    return [_check_one(record, resolver) for record in records]


def _check_one(record: Record, resolver: Resolver) -> Finding:
    try:
        found = resolver.lookup(record.name, record.rdtype)
    except DnsTempError as exc:
        return Finding(record, "unknown", [str(exc)])
    relevant = [f for f in found if _same_kind(record, f)]
    if any(_matches(record, f) for f in relevant):
        return Finding(record, "ok", relevant)
    return Finding(record, "differs" if relevant else "missing", relevant)


def _same_kind(record: Record, found: str) -> bool:
    """Only SPF (or DKIM, DMARC) records count: other TXT records at the same name are none of ours."""
    if record.rdtype != "TXT":
        return True
    return found.split(";")[0].split()[0].lower() == record.value.split(";")[0].split()[0].lower()


def _matches(record: Record, found: str) -> bool:
    if record.rdtype == "MX":
        return found.split()[1].rstrip(".").lower() == record.value.split()[1].rstrip(".").lower()
    if record.value.startswith("v=spf1"):
        return set(found.lower().split()) == set(record.value.lower().split())
    return tags(found) == tags(record.value)


def tags(value: str) -> dict[str, str]:
    """`k=v; k=v` as a dict, whitespace inside values removed (DKIM keys may be folded anywhere)."""
    pairs = (part.partition("=") for part in value.split(";") if "=" in part)
    return {k.strip().lower(): "".join(v.split()) for k, _, v in pairs}
