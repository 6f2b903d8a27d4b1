"""DKIM keys, signing and rotation, and the DNS records `mailflow dns` prints and checks (against a loopback stub)."""

from __future__ import annotations

import re
import stat
from datetime import timedelta
from pathlib import Path

import dkim
import pytest

from mailflow.config import DkimKeyConfig
from mailflow.errors import ConfigError
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.outbound.dkim import KeyStore
from tests.support import factories
from tests.support.cli import invoke
from tests.support.dns_stub import zone  # noqa: F401 (a fixture)
from tests.support.processes import mailflow_env

LINE = re.compile(r'^(\S+)\. IN (TXT|MX) (.*)$')


@pytest.fixture
def keyed(smtp_rt, tmp_path):
    """The runtime with a key folder of its own and a second issuer sending from its own domain."""
    smtp_rt.config.dkim.key_dir = str(tmp_path / "dkim")
    smtp_rt.config.issuers[1].from_address = "documents@lease-belgium.example"
    smtp_rt.__dict__.pop("transport", None)
    return smtp_rt


def _env(rt) -> dict[str, str]:
    """The CLI's environment: the test's database and keys, DNS settings, and DL5 sending from its own domain
    (issuers are set in the file only)."""
    env = mailflow_env(rt.config, dkim_key_dir=rt.config.dkim.key_dir, dns_spf_ips="192.0.2.10,2001:db8::25",
                       dns_dmarc_rua="dmarc@lease.example", dns_reply_mx="mx.reply.mailflow.example")
    config = Path(rt.config.dkim.key_dir).parent / "config.toml"
    config.write_text((rt.config.root / "config.toml").read_text().replace(
        'prefix = "DL5"\nname = "Lease Belgium"\napi_key = ""\nfrom_address = ""',
        'prefix = "DL5"\nname = "Lease Belgium"\napi_key = ""\nfrom_address = "documents@lease-belgium.example"'))
    return env | {"MAILFLOW_CONFIG": str(config)}


def publish(zone, output: str) -> list[tuple[str, str, str]]:
    """Load the zone lines `mailflow dns` printed into the stub, as the operator would publish them."""
    records = [m.groups() for m in map(LINE.match, output.splitlines()) if m]
    for name, rdtype, data in records:
        zone.add(name, rdtype, "".join(re.findall(r'"([^"]*)"', data)) if rdtype == "TXT" else data)
    return records


def verifies(raw: bytes, zone_rt) -> bool:
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return "".join(zone_rt.resolver.txt(name.decode().rstrip("."))).encode()
    return dkim.verify(raw, dnsfunc=lookup)


def test_init_makes_a_private_key_per_from_domain_and_every_mail_is_signed_with_it(keyed, relay, zone):
    env = _env(keyed)
    done = invoke(keyed, ["init"], env)
    assert done.exit_code == 0 and done.output.count("DKIM key") == 2
    assert invoke(keyed, ["init"], env).output.count("DKIM key") == 0  # once: a second init keeps them
    folder = Path(keyed.config.dkim.key_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.glob("*.pem"))
    publish(zone, invoke(keyed, ["dns"], env).output)
    factories.customer(keyed, "DL2123456")
    factories.customer(keyed, "DL5123456", factories.JAN)
    factories.document(keyed, "DL2123456")
    factories.document(keyed, "DL5123456", "F2026-0043")
    DeliveryWorker(keyed).flush()
    for got in relay.received:
        domain = got.message["From"].addresses[0].domain
        assert got.message["Message-ID"].endswith(f"@{domain}>")  # in the signing domain
        assert f"d={domain};" in got.message["DKIM-Signature"] and verifies(got.raw, keyed)
        assert "c=relaxed/relaxed" in got.message["DKIM-Signature"]
        assert not verifies(got.raw.replace(b"Subject: ", b"Subject: X"), keyed)
    assert {g.message["From"].addresses[0].domain for g in relay.received} == {"mailflow.example",
                                                                               "lease-belgium.example"}


def test_dns_prints_zone_lines_and_check_says_what_differs(keyed, zone):
    env = _env(keyed)
    invoke(keyed, ["init"], env)
    printed = invoke(keyed, ["dns"], env).output
    records = publish(zone, printed)
    kinds = {(name.split(".")[1] if "._domainkey." in name else name, rdtype) for name, rdtype, _ in records}
    assert ("_domainkey", "TXT") in kinds and ("_dmarc.lease-belgium.example", "TXT") in kinds
    assert ("reply.mailflow.example", "MX") in kinds and ("reply.mailflow.example", "TXT") in kinds
    assert 'IN TXT "v=spf1 ip4:192.0.2.10 ip6:2001:db8::25 -all"' in printed
    assert '"v=DMARC1; p=none; rua=mailto:dmarc@lease.example; adkim=r; aspf=r"' in printed
    dkim_line = next(line for line in printed.splitlines() if "._domainkey." in line)
    assert all(len(part) <= 255 for part in re.findall(r'"([^"]*)"', dkim_line)) and dkim_line.count('" "') >= 1
    done = invoke(keyed, ["dns", "--check"], env)
    assert done.exit_code == 0 and set(line.split()[0] for line in done.output.splitlines()) == {"ok"}
    zone.clear()
    zone.add("_dmarc.mailflow.example", "TXT", "v=DMARC1; p=reject")
    done = invoke(keyed, ["dns", "--check"], env)
    assert done.exit_code == 1
    assert re.search(r"differs\s+_dmarc\.mailflow\.example TXT: found v=DMARC1; p=reject", done.output)
    assert re.search(r"missing\s+reply\.mailflow\.example MX", done.output)


def test_rotation_publishes_first_signs_after_and_keeps_the_old_key_while_needed(keyed, relay, zone):
    env = _env(keyed)
    invoke(keyed, ["init"], env)
    store = KeyStore(keyed.config)
    old = store.active("mailflow.example")
    done = invoke(keyed, ["dkim", "rotate", "mailflow.example"], env)
    new = next(s for s in store.of("mailflow.example") if s.status == "pending")
    assert done.exit_code == 0 and f"{new.selector}._domainkey.mailflow.example. IN TXT" in done.output
    assert store.active("mailflow.example") == old  # published first: it does not sign yet
    assert new.name in invoke(keyed, ["dns"], env).output
    refused = invoke(keyed, ["dkim", "rotate", "mailflow.example"], env)
    assert refused.exit_code == 75 and "not published yet" in refused.output
    publish(zone, invoke(keyed, ["dns"], env).output)
    done = invoke(keyed, ["dkim", "rotate", "mailflow.example"], env)
    assert done.exit_code == 0 and f"{new.selector} signs from now on" in done.output
    factories.customer(keyed)
    factories.document(keyed)
    DeliveryWorker(keyed).flush()
    [got] = relay.received
    assert f"s={new.selector};" in got.message["DKIM-Signature"] and verifies(got.raw, keyed)
    printed = invoke(keyed, ["dns"], env).output
    assert old.name in printed and new.name in printed  # both, while mail the old one signed may be queued
    later = keyed.now() + timedelta(days=keyed.config.dkim.retire_days + 31)
    assert old.name not in {s.name for s in store.needed(later)} and new.name in {s.name for s in store.needed(later)}
    status = invoke(keyed, ["dkim", "status"], env).output
    assert f"mailflow.example {old.selector} retiring" in status and f"mailflow.example {new.selector} active" in status


def test_a_key_given_by_path_is_used_and_never_rotated_by_mailflow(keyed):
    invoke(keyed, ["init"], _env(keyed))
    given = next(Path(keyed.config.dkim.key_dir).glob("mailflow.example.*.pem"))
    keyed.config.dkim.keys = [DkimKeyConfig("mailflow.example", "given", str(given))]
    keyed.__dict__.pop("transport", None)
    store = KeyStore(keyed.config)
    assert store.active("mailflow.example").selector == "given"
    with pytest.raises(ConfigError, match="rotate it by changing that entry"):
        store.rotate("mailflow.example", keyed.now())
