"""Replies are believed only when their domain's DKIM, SPF and DMARC say so (DNS from a loopback stub, never the
network): a token and a matching From are not enough where the sender's domain publishes p=quarantine|reject."""

from __future__ import annotations

import json
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

from mailflow.accounts import Person, add_staff
from mailflow.config import DkimConfig
from mailflow.inbound.authentication import Arrival, authenticate, organizational
from mailflow.migrations import apply_migrations
from mailflow.models import InboundMessage, Preference, SchemaVersion
from mailflow.outbound.dkim import DkimSigner, KeyStore, public_record
from tests.support import factories
from tests.support.cli import invoke
from tests.support.dns_stub import zone  # noqa: F401 (a fixture)
from tests.support.env import START
from tests.support.inbound import inbound_smtp, notice, outlook_reply_fr, send, settle  # noqa: F401 (fixtures)
from tests.support.processes import mailflow_env
from tests.support.web import client, login

MARIE = factories.MARIE.email  # marie.dupont@example.be
SPF_PASS = "v=spf1 ip4:127.0.0.1 -all"


def marie_signer(rt, zone, tmp_path: Path) -> DkimSigner:
    """example.be's own DKIM key, published in the stub: Marie's provider signs her mail."""
    config = replace(rt.config, dkim=DkimConfig(key_dir=str(tmp_path / "example-be")))
    config.outbound = replace(config.outbound, from_address=MARIE)
    store = KeyStore(config)
    [made] = store.ensure(START)
    zone.add(made.name, "TXT", public_record(Path(made.path).read_bytes()))
    return DkimSigner(store)


def reply(rt, door, notice: EmailMessage, command: str, sign: DkimSigner | None = None) -> InboundMessage:
    raw = outlook_reply_fr(MARIE, notice["Reply-To"], command, notice)
    assert send(door, sign.sign(raw) if sign else raw, MARIE, notice["Reply-To"]).code == 250
    settle(rt)
    return InboundMessage.select().order_by(InboundMessage.id.desc()).get()


def frequency() -> str | None:
    row = Preference.select().first()
    return row.frequency if row else None


def test_a_reply_failing_dmarc_of_a_reject_domain_does_nothing_and_goes_to_staff(smtp_rt, inbound_smtp, notice,
                                                                                  zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    row = reply(smtp_rt, inbound_smtp, notice, "STOP")
    assert row.status == "staff" and frequency() != "off"
    assert "publishes DMARC p=reject" in row.action and "not acted on" in row.action
    checked = json.loads(row.authentication)
    assert (checked["source"], checked["dmarc"], checked["policy"], checked["spf"]) == ("mailflow", "fail", "reject",
                                                                                       "none")
    assert (row.client_ip, row.helo) == ("127.0.0.1", "client.example")  # stored at the door, for SPF


def test_the_staff_console_shows_what_was_checked(smtp_rt, inbound_smtp, notice, zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    row = reply(smtp_rt, inbound_smtp, notice, "STOP")
    staff = login(client(smtp_rt), smtp_rt, add_staff(smtp_rt, Person("sam@support.example", "Sam", "S", "en")))
    page = staff.get(f"/staff/inbound/{row.id}").text
    assert "DMARC fail (p=reject, required for commands)" in page and "SPF none" in page
    assert "checked by mailflow" in page and "publishes DMARC p=reject" in page


def test_the_same_reply_signed_by_its_domain_is_acted_on(smtp_rt, inbound_smtp, notice, zone, tmp_path):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    row = reply(smtp_rt, inbound_smtp, notice, "STOP", marie_signer(smtp_rt, zone, tmp_path))
    assert row.status == "processed" and frequency() == "off"
    assert json.loads(row.authentication)["dkim"] == ["example.be"]


def test_spf_of_the_client_address_is_enough_when_it_aligns(smtp_rt, inbound_smtp, notice, zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=quarantine")
    zone.add("example.be", "TXT", SPF_PASS)
    row = reply(smtp_rt, inbound_smtp, notice, "STOP")
    assert row.status == "processed" and frequency() == "off"
    assert (json.loads(row.authentication)["spf"], json.loads(row.authentication)["dmarc"]) == ("pass", "pass")


def test_report_mode_acts_and_tells_staff_and_off_checks_nothing(smtp_rt, inbound_smtp, notice, zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    smtp_rt.config.inbound.dmarc = "report"
    row = reply(smtp_rt, inbound_smtp, notice, "WEEKLY")
    assert frequency() == "weekly" and "DMARC not passed (report only, acted on)" in row.action
    smtp_rt.config.inbound.dmarc = "off"
    row = reply(smtp_rt, inbound_smtp, notice, "DAILY")
    assert frequency() == "daily" and row.authentication is None


def test_no_dmarc_record_or_p_none_asks_nothing_more_than_before(smtp_rt, inbound_smtp, notice, zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=none; rua=mailto:d@example.be")
    row = reply(smtp_rt, inbound_smtp, notice, "STOP")
    assert row.status == "processed" and frequency() == "off"
    assert json.loads(row.authentication)["dmarc"] == "fail"  # shown to staff, not enforced


def test_a_yes_to_a_question_is_held_too(smtp_rt, relay, inbound_smtp, notice, zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    smtp_rt.config.inbound.dmarc = "off"  # asked while not enforced; answered once it is
    assert "asked to confirm" in reply(smtp_rt, inbound_smtp, notice, "F2026-0042 svp").action
    [question] = relay.to(MARIE)
    smtp_rt.config.inbound.dmarc = "enforce"
    raw = outlook_reply_fr(MARIE, question.message["Reply-To"], "OUI", question.message,
                           In_Reply_To=question.message["Message-ID"])
    assert send(inbound_smtp, raw, MARIE, question.message["Reply-To"]).code == 250
    settle(smtp_rt)
    last = InboundMessage.select().order_by(InboundMessage.id.desc()).get()
    assert last.status == "staff" and "to a confirmation question: From domain example.be" in last.action


def test_authentication_results_only_from_our_authserv_id_and_only_from_our_mta(rt, zone):
    rt.config.inbound.authserv_id = "mx.lease.example"
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=reject")
    body = b"From: Marie <marie.dupont@example.be>\r\nSubject: STOP\r\n\r\nSTOP\r\n"
    ours = b"Authentication-Results: mx.lease.example; dkim=pass header.d=example.be\r\n"
    theirs = b"Authentication-Results: mx.lease.example; spf=pass smtp.mailfrom=example.be\r\n"
    forged = b"Authentication-Results: elsewhere.example; dkim=pass header.d=example.be\r\n"
    hop = b"Received: from client by mx.lease.example\r\n"
    outside = b"Received: from evil.example by relay.example\r\n"
    got = authenticate(rt.config, rt.resolver, hop + ours + outside + theirs + body, MARIE, Arrival())
    assert (got.source, got.dkim, got.spf, got.dmarc, got.ignored_headers) == ("mta", ["example.be"], "none",
                                                                               "pass", 1)
    got = authenticate(rt.config, rt.resolver, hop + outside + theirs + forged + body, MARIE, Arrival())
    assert (got.source, got.dmarc, got.ignored_headers) == ("mailflow", "fail", 1)  # nothing of ours: checked here


def test_a_subdomain_takes_its_organizational_domains_sp_and_dns_failure_holds(rt, zone):
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=none; sp=reject")
    body = b"From: x@mail.example.be\r\nSubject: STOP\r\n\r\nSTOP\r\n"
    got = authenticate(rt.config, rt.resolver, body, "x@mail.example.be", Arrival())
    assert (got.policy, got.dmarc, got.required) == ("reject", "fail", True)
    assert organizational("a.b.example.co.uk") == "example.co.uk" and organizational("mail.example.be") == "example.be"
    rt.config.dns.nameservers = ["127.0.0.1:9"]  # nobody answers
    rt.config.dns.timeout_seconds = 0.5
    rt.__dict__.pop("resolver", None)
    got = authenticate(rt.config, rt.resolver, body, "x@mail.example.be", Arrival())
    assert got.dmarc == "temperror" and "could not be read" in got.refusal()


def test_inspect_prints_what_was_checked(rt, zone, tmp_path):
    factories.customer(rt)
    zone.add("_dmarc.example.be", "TXT", "v=DMARC1; p=quarantine")
    zone.add("example.be", "TXT", SPF_PASS)
    path = tmp_path / "reply.eml"
    path.write_bytes(b"From: marie.dupont@example.be\r\nTo: reply@reply.mailflow.example\r\nSubject: STOP\r\n\r\nSTOP\r\n")
    result = invoke(rt, ["inbound", "inspect", str(path), "--sender", MARIE, "--client-address", "127.0.0.1",
                         "--helo", "mail.example.be"], mailflow_env(rt.config))
    data = json.loads(result.output)
    assert data["authentication"]["spf"] == "pass" and data["authentication"]["dmarc"] == "pass"
    assert data["dmarc_refusal"] is None
    result = invoke(rt, ["inbound", "inspect", str(path), "--sender", MARIE], mailflow_env(rt.config))
    assert "publishes DMARC p=quarantine" in json.loads(result.output)["dmarc_refusal"]


def test_migration_30_adds_the_columns_and_is_idempotent(rt):
    SchemaVersion.delete().where(SchemaVersion.version == 30).execute()  # a database 0001 made from today's models
    assert apply_migrations(rt.db, rt.clock) == ["0030_inbound_authentication"]
    for column in ("client_ip", "helo", "authentication"):
        rt.db.execute_sql(f'ALTER TABLE "inbound_message" DROP COLUMN "{column}"')
    SchemaVersion.delete().where(SchemaVersion.version == 30).execute()
    assert apply_migrations(rt.db, rt.clock) == ["0030_inbound_authentication"]
    assert {"client_ip", "helo", "authentication"} <= {c.name for c in rt.db.get_columns("inbound_message")}
