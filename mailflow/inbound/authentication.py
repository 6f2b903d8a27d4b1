"""Whether a message really comes from its From domain: DKIM, SPF and DMARC, read from the MTA in front or checked here."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import authres
import authres.dmarc
import dkim
import spf

from mailflow.config import Config
from mailflow.inbound.parsing import parse_address
from mailflow.resolver import DnsTempError, Resolver

PROTECTED = ("quarantine", "reject")  # a domain that asks receivers to distrust unauthenticated mail in its name
_CONTEXT = authres.FeatureContext(authres.dmarc)
_HEAD_END = re.compile(rb"\r?\n\r?\n")
# Second-level labels under which a country code's organizations register (example.co.uk); without the public
# suffix list this keeps the commonest cases right, and errs towards not aligned (safe) for the others.
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "or", "ne", "go", "ltd", "plc"})


@dataclass(frozen=True)
class Authentication:
    """What was checked about one message, and the DMARC verdict mailflow acts on."""

    source: str  # "mta": Authentication-Results of the configured authserv-id; "mailflow": checked here
    from_domain: str
    dkim: list[str] = field(default_factory=list)  # d= domains whose signature verified
    spf: str = "none"  # pass | fail | softfail | neutral | none | temperror | permerror
    spf_domain: str = ""  # the envelope sender's domain (the HELO's for a null sender)
    dmarc: str = "none"  # pass | fail | none (no record) | temperror
    policy: str | None = None  # the From domain's published p= (sp= for a subdomain); None without a record
    ignored_headers: int = 0  # Authentication-Results naming our authserv-id that came from outside: not believed
    notes: list[str] = field(default_factory=list)

    @property
    def required(self) -> bool:
        """The domain publishes quarantine or reject, or its record could not be read."""
        return self.policy in PROTECTED or self.dmarc == "temperror"

    def refusal(self) -> str | None:
        """Why commands with effects must not run for this message; None when they may."""
        if self.dmarc == "temperror":
            return f"DMARC of {self.from_domain} could not be read (DNS): reprocess later"
        if self.required and self.dmarc != "pass":
            return (f"From domain {self.from_domain} publishes DMARC p={self.policy} and this message does not pass "
                    f"it (DKIM {', '.join(self.dkim) or 'none'}, SPF {self.spf} for {self.spf_domain or '-'})")
        return None

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"required": self.required}


@dataclass(frozen=True)
class Arrival:
    """How a message reached mailflow, as far as it knows."""

    envelope_from: str | None = None
    client_ip: str | None = None
    helo: str | None = None


def authenticate(config: Config, resolver: Resolver, raw: bytes, from_addr: str | None,
                 arrival: Arrival) -> Authentication:
    from_domain = _domain(from_addr or "")
    trusted, ignored = trusted_results(raw, config.inbound.authserv_id)
    if trusted is not None:
        checked = _from_header(trusted, from_domain)
    else:
        checked = _checked_here(resolver, raw, from_domain, arrival)
    return _with_dmarc(resolver, checked, ignored)


# --- Authentication-Results of the MTA in front ---------------------------------------------------------------

def trusted_results(raw: bytes, authserv_id: str) -> tuple[Any | None, int]:
    """The Authentication-Results our own MTA added, and how many others claimed its authserv-id.

    Our MTA's header sits above the trace of any other hop: headers naming our authserv-id below the second
    Received field were written by someone else (RFC 8601 5: a forgery to be ignored, as our MTA should have
    removed it) and count only as ignored.
    """
    if not authserv_id:
        return None, 0
    found, received, ignored = None, 0, 0
    for name, value in _headers(raw):
        if name == "received":
            received += 1
        elif name == "authentication-results" and _authserv(value) == authserv_id.lower():
            if found is None and received <= 1:
                found = _parsed(value)
            else:
                ignored += 1
    return found, ignored


def _headers(raw: bytes) -> list[tuple[str, str]]:
    end = _HEAD_END.search(raw)
    head = raw[: end.start() if end else len(raw)].decode("utf-8", "replace")
    fields = re.split(r"\r?\n(?![ \t])", head)
    return [(f.partition(":")[0].strip().lower(), " ".join(f.partition(":")[2].split())) for f in fields if ":" in f]


def _authserv(value: str) -> str:
    return value.split(";")[0].split()[0].lower() if value.strip() else ""


def _parsed(value: str) -> Any | None:
    try:
        return _CONTEXT.parse_value(value)
    except authres.AuthResError:
        return None  # a header our MTA wrote that we cannot read: as if none, and checked here instead


def _from_header(header: Any, from_domain: str) -> Authentication:
    dkim_domains = [_property(r, "d") for r in header.results if r.method == "dkim" and r.result == "pass"]
    spf_result = next((r for r in header.results if r.method == "spf"), None)
    if spf_result is None:
        return Authentication("mta", from_domain, [d for d in dkim_domains if d])
    checked = _property(spf_result, "mailfrom") or _property(spf_result, "helo")
    return Authentication("mta", from_domain, [d for d in dkim_domains if d], spf_result.result, _domain(checked))


def _property(result: Any, name: str) -> str:
    return next((str(p.value).lower() for p in result.properties if p.name == name), "")


# --- checked by mailflow itself -------------------------------------------------------------------------------

def _checked_here(resolver: Resolver, raw: bytes, from_domain: str, arrival: Arrival) -> Authentication:
    notes: list[str] = []
    domains = verified_dkim(resolver, raw, notes)
    result, domain = check_spf(resolver, arrival, notes)
    return Authentication("mailflow", from_domain, domains, result, domain, notes=notes)


def verified_dkim(resolver: Resolver, raw: bytes, notes: list[str]) -> list[str]:
    """The d= domain of every DKIM signature that verifies."""
    checker = dkim.DKIM(raw)
    count = sum(1 for name, _ in _headers(raw) if name == "dkim-signature")
    passed = []
    for index in range(count):
        try:
            if checker.verify(idx=index, dnsfunc=_dkim_dns(resolver)):
                passed.append(checker.domain.decode("ascii", "replace").lower())
        except (dkim.DKIMException, DnsTempError) as exc:
            notes.append(f"DKIM signature {index + 1}: {exc}")
    return passed


def _dkim_dns(resolver: Resolver):
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        records = resolver.txt(name.decode("ascii").rstrip("."))
        return next((r for r in records if "p=" in r), "").encode("ascii", "replace")
    return lookup


def check_spf(resolver: Resolver, arrival: Arrival, notes: list[str]) -> tuple[str, str]:
    """SPF of the envelope sender (or, for a null sender, of the HELO name) for the client's address."""
    if not arrival.client_ip or not _is_ip(arrival.client_ip):
        return "none", ""
    sender = arrival.envelope_from or f"postmaster@{arrival.helo or ''}"
    query = _SpfQuery(resolver, arrival.client_ip, sender, arrival.helo or "")
    result, _code, explanation = query.check()
    if result in ("temperror", "permerror"):
        notes.append(f"SPF: {explanation}")
    return result, _domain(sender)


class _SpfQuery(spf.query):
    """pyspf's evaluation, asking mailflow's resolver (pyspf's own lookup uses the module-wide default)."""

    def __init__(self, resolver: Resolver, ip: str, sender: str, helo: str) -> None:
        super().__init__(i=ip, s=sender, h=helo, timeout=resolver.config.timeout_seconds)
        self.resolver = resolver

    def dns(self, name: str, qtype: str, cnames: object = None, ignore_void: bool = False) -> list[Any]:
        try:
            found = [_spf_value(qtype, r) for r in self.resolver.answers(name.rstrip("."), qtype)]
        except DnsTempError as exc:
            raise spf.TempError(str(exc)) from exc
        if not found and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:  # RFC 7208 4.6.4: a record that makes us query forever
                raise spf.PermError(f"void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return found


def _spf_value(qtype: str, rdata: Any) -> Any:
    """Each record as pyspf reads it: TXT a list of byte strings, MX (preference, host), names without the dot."""
    if qtype in ("TXT", "SPF"):
        return list(rdata.strings)
    if qtype == "MX":
        return rdata.preference, rdata.exchange.to_text(True)
    if qtype == "PTR":
        return rdata.target.to_text(True)
    return rdata.address


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- DMARC ----------------------------------------------------------------------------------------------------

def _with_dmarc(resolver: Resolver, checked: Authentication, ignored: int) -> Authentication:
    try:
        record = dmarc_record(resolver, checked.from_domain)
    except DnsTempError as exc:
        return _replace(checked, dmarc="temperror", ignored_headers=ignored, notes=[*checked.notes, str(exc)])
    if record is None:
        return _replace(checked, dmarc="none", ignored_headers=ignored)
    verdict = "pass" if aligned_pass(checked, record) else "fail"
    return _replace(checked, dmarc=verdict, policy=record["policy"], ignored_headers=ignored)


def _replace(item: Authentication, **changes: Any) -> Authentication:
    return Authentication(**(asdict(item) | changes))


def dmarc_record(resolver: Resolver, domain: str) -> dict[str, str] | None:
    """The From domain's DMARC tags (RFC 7489 6.6.3: its own record, else its organizational domain's, whose
    sp= then applies); None when neither publishes one."""
    if not domain:
        return None
    org = organizational(domain)
    for name, inherited in ((domain, False), (org, True)):
        tags = _dmarc_tags(resolver.txt(f"_dmarc.{name}"))
        if tags is not None:
            policy = tags.get("sp", tags.get("p", "none")) if inherited else tags.get("p", "none")
            return tags | {"policy": policy.lower()}
        if name == org:
            break
    return None


def _dmarc_tags(records: list[str]) -> dict[str, str] | None:
    found = [r for r in records if r.replace(" ", "").lower().startswith("v=dmarc1")]
    if len(found) != 1:  # none, or several: RFC 7489 6.6.3 says act as if there were none
        return None
    pairs = (part.partition("=") for part in found[0].split(";") if "=" in part)
    return {k.strip().lower(): v.strip() for k, _, v in pairs}


def aligned_pass(checked: Authentication, record: dict[str, str]) -> bool:
    """A DKIM pass or an SPF pass whose domain aligns with From (relaxed: same organizational domain)."""
    strict_dkim, strict_spf = record.get("adkim", "r") == "s", record.get("aspf", "r") == "s"
    dkim_ok = any(_aligned(d, checked.from_domain, strict_dkim) for d in checked.dkim)
    spf_ok = checked.spf == "pass" and _aligned(checked.spf_domain, checked.from_domain, strict_spf)
    return dkim_ok or spf_ok


def _aligned(domain: str, from_domain: str, strict: bool) -> bool:
    if not domain or not from_domain:
        return False
    return domain == from_domain if strict else organizational(domain) == organizational(from_domain)


def organizational(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _domain(text: str) -> str:
    """The domain of an address (`Name <a@b>` too), or the text itself when it is a bare domain (a HELO name)."""
    address = (parse_address(text) or text) if "@" in text else text
    return address.rpartition("@")[2].strip().strip(">").rstrip(".").lower()
